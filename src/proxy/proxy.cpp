// The proxy: an http::server whose workers each make their own upstream state (client,
// balancer, counters) on their own thread, and a handler that finds it without a lock.
#include "waitless/proxy/proxy.hpp"

#include <stdexcept>
#include <thread>

#include "forward.hpp"
#include "waitless/core/cpus.hpp"

namespace waitless::proxy {
namespace detail {
namespace {

// The worker this thread runs, if any: a server's worker thread serves that server only.
thread_local worker_state* this_worker = nullptr;

}  // namespace
}  // namespace detail

proxy::proxy(options o) : config_(std::make_shared<detail::shared_config>()) {
    if (o.upstreams.empty()) throw std::invalid_argument("proxy: no upstream server");
    if (o.server.workers == 0) o.server.workers = core::usable_cpus();
    // Bad options throw here, on the caller's thread, not later on a worker's.
    { http::client probe(io::thread_loop(), detail::client_options_for(o)); }
    (void)balancer(o.upstreams, o.balance, o.health);
    config_->o = std::move(o);
    for (const auto& u : config_->o.upstreams)
        config_->origins.push_back("http://" + u.authority());
    for (std::size_t i = 0; i < config_->o.server.workers; ++i)
        counters_.push_back(std::make_unique<detail::worker_counters>(config_->o.upstreams.size()));

    http::server_options so = config_->o.server;
    // Each worker's state lives on its thread from before its loop runs to after it stopped.
    so.on_worker_start = [config = config_, this](std::size_t index, io::loop& l) {
        detail::this_worker = new detail::worker_state(*config, l, *counters_[index], index);
    };
    so.on_worker_stop = [](std::size_t, io::loop&) {
        // The pooled connections are reset now (idle and drained: no TIME_WAIT anywhere),
        // so the counters below include their closes.
        detail::this_worker->client.close_idle();
        detail::this_worker->publish();
        delete std::exchange(detail::this_worker, nullptr);
    };
    server_ = std::make_unique<http::server>(std::move(so), [](http::exchange& ex) {
        return detail::forward(*detail::this_worker, ex);  // its task: no frame of our own
    });
}

proxy::~proxy() {
    if (server_) {
        server_->stop();
        server_->wait();
    }
}

result<void> proxy::start() { return server_->start(); }

const std::vector<std::string>& proxy::addresses() const { return server_->addresses(); }

void proxy::stop() { server_->stop(); }

void proxy::wait() { server_->wait(); }

stats proxy::get_stats() const {
    stats s;
    for (const auto& c : counters_) {
        s.requests += c->requests.get();
        s.responses_relayed += c->responses_relayed.get();
        s.unavailable += c->unavailable.get();
        s.bad_gateway += c->bad_gateway.get();
        s.gateway_timeouts += c->gateway_timeouts.get();
        s.too_large += c->too_large.get();
        s.failovers += c->failovers.get();
        s.cut_short += c->cut_short.get();
        s.client_gone += c->client_gone.get();
        s.tunnels += c->tunnels.get();
        s.ejections += c->ejections.get();
        s.upstream_connects += c->upstream_connects.get();
        s.upstream_requests += c->upstream_requests.get();
        s.upstream_reused += c->upstream_reused.get();
        s.upstream_retries += c->upstream_retries.get();
        s.upstream_stale += c->upstream_stale.get();
        s.upstream_closed_time_wait_here += c->upstream_closed_time_wait_here.get();
        s.upstream_closed_time_wait_peer += c->upstream_closed_time_wait_peer.get();
        s.upstream_closed_reset += c->upstream_closed_reset.get();
        s.upstream_keep_alive_expired += c->upstream_keep_alive_expired.get();
        s.upstream_too_idle_to_risk += c->upstream_too_idle_to_risk.get();
    }
    const auto& upstreams = config_->o.upstreams;
    for (std::size_t i = 0; i < upstreams.size(); ++i) {
        upstream_idle u;
        u.server = upstreams[i].authority();
        for (const auto& c : counters_) {
            const auto& k = c->per_upstream[i];
            if (const auto v = k.learned.get(); v > 0) {
                const std::chrono::milliseconds ms(v - 1);
                u.learned = u.learned ? std::min(*u.learned, ms) : ms;
            }
            if (const auto v = k.advertised.get(); v > 0)
                u.advertised = std::chrono::milliseconds(v - 1);
            u.idle_closes += k.idle_closes.get();
        }
        s.upstream_idle_timeouts.push_back(std::move(u));
    }
    s.downstream = server_->stats();
    return s;
}

}  // namespace waitless::proxy
