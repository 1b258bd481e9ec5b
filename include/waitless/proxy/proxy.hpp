// The pooling reverse proxy: http::server workers accept whatever short connections clients
// make, and each worker relays their requests over its own pooled, long-lived upstream
// connections (an http::client on the worker's loop), so TIME_WAIT stays off the whole path.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "waitless/core/address.hpp"
#include "waitless/core/error.hpp"
#include "waitless/http/client.hpp"
#include "waitless/http/server.hpp"
#include "waitless/net/options.hpp"
#include "waitless/proxy/balancer.hpp"

namespace waitless::proxy {

// Everything the proxy is told, in one struct a config file can fill later.
struct options {
    // The downstream side: listen addresses, workers, close policy, trusted peers, client
    // header timeout (header_timeout) and client idle timeout (idle_timeout), per-operation
    // write/read timeout towards clients (io_timeout), drain timeout. Its handler and worker
    // hooks are the proxy's.
    http::server_options server;

    std::vector<upstream_server> upstreams;
    balance_policy balance;
    health_options health;
    double retry_budget_ratio = 0.2;  // retries at most this share of the requests (10 s window)

    // Upstream connections.
    std::vector<core::ip_address> source_addresses;  // IP_BIND_ADDRESS_NO_PORT, round robin
    // IP_LOCAL_PORT_RANGE for each upstream connection (skipped where the kernel lacks it;
    // bounds outside net.ipv4.ip_local_port_range are ignored by the kernel).
    std::optional<net::port_range> local_port_range;
    std::chrono::milliseconds upstream_connect_timeout{5000};
    std::chrono::milliseconds upstream_header_timeout{30000};  // request sent -> response head
    std::chrono::milliseconds upstream_idle_timeout{60000};    // pooled and unused: RST
    // Never reuse past a backend's Keep-Alive: timeout=N, or the idle timeout learned from its
    // idle closes, minus this (N <= margin: no reuse); a request that cannot be replayed takes
    // an idle connection only within a known timeout (see http::client_options).
    std::chrono::milliseconds upstream_keep_alive_margin{1000};
    std::chrono::milliseconds total_timeout{300000};     // the whole upstream exchange, body too
    std::size_t max_connections_per_upstream = 64;       // per worker
    std::uint64_t upstream_max_uses = 0;                 // retire with Connection: close; 0: none
    std::chrono::milliseconds upstream_max_lifetime{0};  // cut by up to 10% per connection

    // Requests.
    std::uint64_t max_body_size = 0;  // 0: no limit; larger bodies get 413
    bool x_forwarded_for = true;
    bool x_forwarded_proto = true;
    bool forwarded = true;
};

// What the workers know of one upstream server's idle timeout.
struct upstream_idle {
    std::string server;  // host:port as given
    // The shortest any worker learned from the server's idle closes; none when no worker did.
    std::optional<std::chrono::milliseconds> learned;
    std::optional<std::chrono::milliseconds> advertised;  // Keep-Alive: timeout=N, last seen
    std::uint64_t idle_closes = 0;  // pooled connections it closed while idle, all workers
};

// Counts since start, summed over the workers. The upstream_* figures and ejections come from
// each worker's client and balancer: at most a second old while requests come, complete once
// the proxy has stopped (the closes of the pooled connections it resets at exit included).
struct stats {
    std::uint64_t requests = 0;           // handled by the proxy
    std::uint64_t responses_relayed = 0;  // an upstream response was relayed (any status)
    std::uint64_t unavailable = 0;        // 503: no usable server or none could be reached
    std::uint64_t bad_gateway = 0;        // 502: upstream failed or answered garbage
    std::uint64_t gateway_timeouts = 0;   // 504
    std::uint64_t too_large = 0;          // 413
    std::uint64_t failovers = 0;          // connect failures tried on another server
    std::uint64_t cut_short = 0;          // relays that failed after the response started
    std::uint64_t client_gone = 0;        // the client left mid-exchange: upstream reset
    std::uint64_t tunnels = 0;            // 101 relayed: client and backend joined by a byte tunnel
    std::uint64_t ejections = 0;          // servers ejected by passive health
    std::uint64_t upstream_connects = 0;  // upstream connections opened
    std::uint64_t upstream_requests = 0;  // requests the upstream clients completed
    std::uint64_t upstream_reused = 0;    // sent on a connection used before
    std::uint64_t upstream_retries = 0;   // replayed on a fresh connection (idle-close race)
    std::uint64_t upstream_stale = 0;     // pooled connections found closed before reuse
    std::uint64_t upstream_closed_time_wait_here = 0;
    std::uint64_t upstream_closed_time_wait_peer = 0;
    std::uint64_t upstream_closed_reset = 0;
    std::uint64_t upstream_keep_alive_expired = 0;  // not reused: past the idle timeout - margin
    std::uint64_t upstream_too_idle_to_risk = 0;    // too idle for a request not replayable
    std::vector<upstream_idle> upstream_idle_timeouts;  // one per upstream server, in order
    http::server_stats downstream;                      // the server's: connections, closes by kind
};

namespace detail {
struct worker_counters;
struct shared_config;
}  // namespace detail

class proxy {
  public:
    explicit proxy(options o);
    ~proxy();
    proxy(const proxy&) = delete;
    proxy& operator=(const proxy&) = delete;

    // Binds every listen address and starts the workers. Upstreams are not contacted: one
    // that is down answers 503 until it comes.
    result<void> start();
    const std::vector<std::string>& addresses() const;
    void stop();  // from any thread: stop accepting, finish in-flight requests
    void wait();
    stats get_stats() const;

  private:
    std::shared_ptr<detail::shared_config> config_;
    std::vector<std::unique_ptr<detail::worker_counters>> counters_;
    std::unique_ptr<http::server> server_;
};

}  // namespace waitless::proxy
