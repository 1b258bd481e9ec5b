// How the client makes and ends connections to one origin: on a worker's loop (non-blocking
// connect, every address in turn, name lookups off the loop) or, for the blocking face, on the
// thread-safe pool's threads. Each close mode decides where the TIME_WAIT lands.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "client_connection.hpp"
#include "client_idle.hpp"
#include "client_resolver.hpp"
#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/net/close.hpp"
#include "waitless/net/options.hpp"

namespace waitless::http::detail {

struct client_counters {
    std::atomic<std::uint64_t> requests{0}, failures{0}, retries{0}, reused{0}, stale{0},
        keep_alive_expired{0}, too_idle_to_risk{0}, retired{0}, time_wait_here{0},
        time_wait_peer{0}, reset{0};
};

inline void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
void count_close(client_counters& k, const result<net::close_outcome>& outcome);

using connection_ptr = std::unique_ptr<client_connection>;

// max_lifetime cut by up to `jitter` of it: `random` picks where (uniform over its 64 bits).
pool::duration jittered_lifetime(pool::duration max_lifetime, double jitter, std::uint64_t random);

// What both connectors need; shared, so a create in flight outlives the client safely.
struct origin_settings {
    std::string host;
    std::uint16_t port = 80;
    net::connect_options connect;
    parser_limits limits;
    std::chrono::milliseconds peer_close_wait{1000};
    std::chrono::milliseconds max_lifetime{0};  // zero: none
    double lifetime_jitter = 0;
    std::shared_ptr<client_counters> counters;
    std::shared_ptr<resolver> names;
    std::shared_ptr<idle_learner> idle;  // the origin's
};

// The loop face's factory (pool::loop_factory_for): everything on the loop.
class loop_connector {
  public:
    loop_connector(io::loop& l, std::shared_ptr<const origin_settings> s)
        : loop_(&l), settings_(std::move(s)) {}

    // Each address of the name in turn, each within connect.timeout.
    io::task<result<connection_ptr>> create();
    bool validate(connection_ptr&) { return true; }  // checked inline before reuse
    // idle and reset close at once; peer_first waits for the server's FIN in a coroutine.
    void destroy(connection_ptr& c);

  private:
    io::loop* loop_;
    std::shared_ptr<const origin_settings> settings_;
    std::size_t next_source_ = 0;
};

// The blocking face's factory (pool::factory_for): runs on the pool's threads, with
// connections that belong to no loop while they are idle.
class blocking_connector {
  public:
    explicit blocking_connector(std::shared_ptr<const origin_settings> s)
        : settings_(std::move(s)) {}

    result<connection_ptr> create();
    bool validate(connection_ptr&) { return true; }
    void destroy(connection_ptr& c);

  private:
    std::shared_ptr<const origin_settings> settings_;
};

}  // namespace waitless::http::detail
