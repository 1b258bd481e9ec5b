#include "aggregator.hpp"

#include <algorithm>
#include <cmath>

namespace waitless::census::detail {
namespace {

bool same_address(const core::ip_address& a, const core::ip_address& b) {
    return a.unmapped() == b.unmapped();
}

}  // namespace

std::size_t aggregator::destination_key_hash::operator()(
    const destination_key& key) const noexcept {
    const std::hash<core::ip_address> hash;
    return hash(key.local_ip) * 31u + hash(key.remote_ip) * 17u + key.remote_port;
}

aggregator::aggregator(kernel_settings settings, const options& opts)
    : settings_(std::move(settings)),
      options_(opts),
      window_ms_(static_cast<std::uint32_t>(std::clamp(opts.rate_window_s, 0.001, 60.0) * 1000)),
      listening_port_(65536, false) {
    snapshot_.settings = settings_;
}

bool aggregator::passes_filter(const socket_record& record) const {
    if (options_.port && record.local_port != *options_.port &&
        record.remote_port != *options_.port) {
        return false;
    }
    if (options_.destination) {
        const auto& wanted = *options_.destination;
        if (!same_address(record.remote_ip, wanted.address)) return false;
        if (wanted.port && record.remote_port != *wanted.port) return false;
    }
    return true;
}

void aggregator::add_listener(const socket_record& record) {
    listening_port_[record.local_port] = true;
    if (passes_filter(record)) ++snapshot_.states[static_cast<std::size_t>(tcp_state::listen)];
    // SO_REUSEPORT workers share one address and port: report them as one listener, whose
    // queues and backlogs add up (so their ratio stays each socket's fill on average).
    for (auto& l : listeners_) {
        if (l.local_port == record.local_port && l.local_ip == record.local_ip) {
            l.backlog += record.send_queue;
            l.accept_queue += record.receive_queue;
            ++l.sockets;
            return;
        }
    }
    listeners_.push_back(
        {record.local_ip, record.local_port, 0, record.send_queue, record.receive_queue, 1});
}

listener* aggregator::listener_for(const socket_record& record) {
    if (!listening_port_[record.local_port]) return nullptr;
    listener* wildcard = nullptr;
    for (auto& l : listeners_) {
        if (l.local_port != record.local_port) continue;
        if (same_address(l.local_ip, record.local_ip)) return &l;
        if (l.local_ip.is_unspecified()) wildcard = &l;
    }
    return wildcard;
}

void aggregator::add(const socket_record& record) {
    if (!passes_filter(record)) return;
    const auto state = record.state == tcp_state::new_syn_recv ? tcp_state::syn_recv : record.state;
    ++snapshot_.states[static_cast<std::size_t>(state)];
    listener* accepted_on = listener_for(record);
    if (state != tcp_state::time_wait) {
        if (accepted_on == nullptr && state != tcp_state::close) {
            ++destinations_[{record.local_ip, record.remote_ip, record.remote_port}].active;
        }
        return;
    }
    ++snapshot_.time_wait;
    for (std::size_t i = 0; i < expiry_buckets_s.size(); ++i) {
        if (record.expires_ms <= expiry_buckets_s[i] * 1000) ++snapshot_.expiring_within[i];
    }
    if (accepted_on != nullptr) {
        ++snapshot_.time_wait_server;
        ++accepted_on->time_wait;
        return;
    }
    ++snapshot_.time_wait_client;
    auto& counts = destinations_[{record.local_ip, record.remote_ip, record.remote_port}];
    ++counts.time_wait;
    // A TIME_WAIT socket with r ms left was created 60 - r/1000 s ago.
    if (record.expires_ms + window_ms_ >= time_wait_ms) ++counts.created_in_window;
    if (record.expires_ms <= window_ms_) ++counts.expiring_in_window;
}

destination derive(const core::ip_address& local_ip, const core::ip_address& remote_ip,
                   std::uint16_t remote_port, std::uint32_t time_wait, std::uint32_t active,
                   std::uint32_t created_in_window, std::uint32_t expiring_in_window,
                   const kernel_settings& settings, double window_s) {
    destination d;
    d.local_ip = local_ip;
    d.remote_ip = remote_ip;
    d.remote_port = remote_port;
    d.time_wait = time_wait;
    d.active = active;
    d.usable_ports = settings.usable_ports;
    const double held = static_cast<double>(time_wait) + active;
    d.occupancy = d.usable_ports == 0 ? (held > 0 ? 1.0 : 0.0) : held / d.usable_ports;
    d.closes_per_s = created_in_window / window_s;
    d.expiries_per_s = expiring_in_window / window_s;
    d.reuse_applies = reuse_applies(settings, local_ip, remote_ip);
    if (d.reuse_applies) return d;
    // Little's law: at this close rate TIME_WAIT settles at closes_per_s x 60 s. Below the
    // budget the destination is not heading for exhaustion, whatever it does right now.
    const double settled = d.closes_per_s * (time_wait_ms / 1000.0) + active;
    if (settled < d.usable_ports) return d;
    const double free_ports = static_cast<double>(d.usable_ports) - held;
    if (free_ports <= 0) {
        d.seconds_to_exhaustion = 0.0;
        return d;
    }
    const double growth = d.closes_per_s - d.expiries_per_s;
    if (growth > 0) d.seconds_to_exhaustion = free_ports / growth;
    return d;
}

snapshot aggregator::finish() && {
    const double window_s = window_ms_ / 1000.0;
    snapshot_.destinations.reserve(destinations_.size());
    for (const auto& [key, counts] : destinations_) {
        snapshot_.destinations.push_back(
            derive(key.local_ip, key.remote_ip, key.remote_port, counts.time_wait, counts.active,
                   counts.created_in_window, counts.expiring_in_window, settings_, window_s));
    }
    std::ranges::sort(snapshot_.destinations, [](const destination& a, const destination& b) {
        if (a.occupancy != b.occupancy) return a.occupancy > b.occupancy;
        if (a.remote_ip != b.remote_ip) return a.remote_ip < b.remote_ip;
        if (a.remote_port != b.remote_port) return a.remote_port < b.remote_port;
        return a.local_ip < b.local_ip;
    });
    for (const auto& l : listeners_) {
        if (options_.destination) continue;  // a destination filter selects remote ends only
        if (options_.port && l.local_port != *options_.port) continue;
        snapshot_.listeners.push_back(l);
    }
    std::ranges::sort(snapshot_.listeners, [](const listener& a, const listener& b) {
        if (a.time_wait != b.time_wait) return a.time_wait > b.time_wait;
        if (a.local_port != b.local_port) return a.local_port < b.local_port;
        return a.local_ip < b.local_ip;
    });
    return std::move(snapshot_);
}

}  // namespace waitless::census::detail
