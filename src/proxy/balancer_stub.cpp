// THROWAWAY: a minimal balancer (round robin by weight order, the passive health of the
// interface, a simple retry budget) so the proxy links before src/proxy/balancer.cpp lands
// from main. Drop this file when merging.
#include <algorithm>
#include <charconv>

#include "waitless/core/address.hpp"
#include "waitless/proxy/balancer.hpp"

namespace waitless::proxy {
namespace {

std::error_code malformed() { return core::make_error_code(core::errc::malformed_input); }

}  // namespace

result<upstream_server> upstream_server::parse(std::string_view text) {
    upstream_server out;
    if (const auto eq = text.rfind('='); eq != std::string_view::npos) {
        const auto w = text.substr(eq + 1);
        const auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), out.weight);
        if (ec != std::errc() || p != w.data() + w.size() || out.weight < 1 || out.weight > 1000)
            return std::unexpected(malformed());
        text = text.substr(0, eq);
    }
    std::string_view port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::unexpected(malformed());
        out.host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::unexpected(malformed());
        out.host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
    }
    auto port = core::parse_port(port_text);
    if (out.host.empty() || !port || *port == 0) return std::unexpected(malformed());
    out.port = *port;
    return out;
}

std::string upstream_server::authority() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

result<std::vector<upstream_server>> parse_upstreams(std::string_view text) {
    std::vector<upstream_server> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        auto one = upstream_server::parse(text.substr(0, comma));
        if (!one) return std::unexpected(one.error());
        out.push_back(std::move(*one));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    }
    if (out.empty()) return std::unexpected(malformed());
    return out;
}

result<balance_policy> balance_policy::parse(std::string_view text) {
    balance_policy p;
    if (text == "round_robin") {
        p.kind = balance_kind::round_robin;
    } else if (text == "least_request") {
        p.kind = balance_kind::least_request;
    } else if (text == "p2c") {
        p.kind = balance_kind::p2c;
    } else if (text == "hash:client") {
        p.kind = balance_kind::hash_client;
    } else if (text.starts_with("hash:header:") && text.size() > 12) {
        p.kind = balance_kind::hash_header;
        p.header = std::string(text.substr(12));
    } else {
        return std::unexpected(malformed());
    }
    return p;
}

balancer::balancer(std::vector<upstream_server> servers, balance_policy policy,
                   health_options health, std::uint64_t seed)
    : servers_(std::move(servers)),
      policy_(std::move(policy)),
      health_(health),
      states_(servers_.size()),
      random_(seed | 1) {}

bool balancer::usable(std::size_t i, clock::time_point now,
                      std::span<const std::size_t> exclude) const {
    return !ejected(i, now) && std::ranges::find(exclude, i) == exclude.end();
}

bool balancer::ejected(std::size_t server, clock::time_point now) const {
    return now < states_[server].ejected_until;
}

std::optional<std::size_t> balancer::pick_round_robin(clock::time_point now,
                                                      std::span<const std::size_t> exclude) {
    // Smooth weighted round robin over the usable servers.
    long total = 0;
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        if (!usable(i, now, exclude)) continue;
        states_[i].current += servers_[i].weight;
        total += servers_[i].weight;
        if (!best || states_[i].current > states_[*best].current) best = i;
    }
    if (best) states_[*best].current -= total;
    return best;
}

std::optional<std::size_t> balancer::pick_hash(std::string_view, clock::time_point now,
                                               std::span<const std::size_t> exclude) {
    return pick_round_robin(now, exclude);
}

std::uint64_t balancer::next_random() {
    random_ ^= random_ << 13;
    random_ ^= random_ >> 7;
    random_ ^= random_ << 17;
    return random_;
}

std::optional<std::size_t> balancer::pick(clock::time_point now, std::string_view hash_key,
                                          std::span<const std::size_t> exclude) {
    return pick_hash(hash_key, now, exclude);
}

void balancer::started(std::size_t server) { ++states_[server].outstanding; }

void balancer::finished(std::size_t server) {
    if (states_[server].outstanding > 0) --states_[server].outstanding;
}

void balancer::report_success(std::size_t server) {
    states_[server].failures = 0;
    states_[server].streak = 0;
}

void balancer::report_failure(std::size_t server, clock::time_point now) {
    auto& s = states_[server];
    if (++s.failures < health_.max_failures) return;
    s.failures = 0;
    auto time = health_.base_ejection * (1u << std::min(s.streak, 15u));
    s.ejected_until = now + std::min(time, health_.max_ejection);
    ++s.streak;
    ++ejections_;
}

std::chrono::milliseconds balancer::retry_after(clock::time_point now) const {
    auto best = clock::time_point::max();
    for (const auto& s : states_) best = std::min(best, s.ejected_until);
    if (best <= now || best == clock::time_point::max()) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(best - now);
}

retry_budget::retry_budget(double ratio, std::chrono::milliseconds window)
    : ratio_(ratio), window_(window) {}

void retry_budget::roll(clock::time_point now) {
    const auto half = window_ / 2;
    if (now - bucket_start_ < half) return;
    if (now - bucket_start_ < window_) {
        requests_[1] = requests_[0];
        retries_[1] = retries_[0];
    } else {
        requests_[1] = retries_[1] = 0;
    }
    requests_[0] = retries_[0] = 0;
    bucket_start_ = now;
}

void retry_budget::on_request(clock::time_point now) {
    roll(now);
    ++requests_[0];
}

bool retry_budget::try_spend(clock::time_point now) {
    roll(now);
    const double requests = static_cast<double>(requests_[0] + requests_[1]);
    const double retries = static_cast<double>(retries_[0] + retries_[1]);
    // At least one retry is always allowed so a quiet proxy can still fail over.
    if (retries >= 1 && retries + 1 > ratio_ * requests) return false;
    ++retries_[0];
    return true;
}

}  // namespace waitless::proxy
