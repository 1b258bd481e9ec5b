// The state both client faces share: options, per-origin pools, counters, and the request path
// (acquire with stale and keep-alive checks, the exchange, the one retry).
#pragma once

#include <asio/awaitable.hpp>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client_connection.hpp"
#include "client_wire.hpp"
#include "waitless/http/client.hpp"
#include "waitless/net/endpoint.hpp"
#include "waitless/pool/pool.hpp"

namespace waitless::http::detail {

struct client_counters {
    std::atomic<std::uint64_t> requests{0}, failures{0}, retries{0}, reused{0}, stale{0},
        keep_alive_expired{0}, retired{0}, time_wait_here{0}, time_wait_peer{0}, reset{0};
};

using connection_ptr = std::unique_ptr<client_connection>;

// Makes connections to one origin on the pool's worker threads (a blocking connect with its
// timeout); destroys them by their close mode. Thread-safe: the pool runs several at once.
class connection_factory {
  public:
    connection_factory(std::string host, std::uint16_t port, const client_options& options,
                       std::shared_ptr<client_counters> counters);

    result<connection_ptr> create();
    bool validate(connection_ptr&) { return true; }  // checked inline before reuse
    void destroy(connection_ptr& c);

  private:
    result<net::endpoint> resolve() const;

    std::string host_;
    std::uint16_t port_;
    net::connect_options connect_;
    parser_limits limits_;
    std::chrono::milliseconds peer_close_wait_;
    std::shared_ptr<client_counters> counters_;
};

using connection_pool = pool::pool<connection_ptr, connection_factory>;

struct origin {
    origin(std::string k, connection_factory factory, const pool::options& po)
        : key(std::move(k)), connections(std::move(factory), po) {}
    std::string key;  // "host[:port]" as in the URL, also the Host field's value
    connection_pool connections;
};

class client_core {
  public:
    // shared: several threads use it (the blocking face); the origin list then takes a lock.
    client_core(client_options options, bool shared);

    // unbind: hand each connection's descriptor back from the event loop after the request.
    asio::awaitable<result<client_response>> run(const client_request& r, const body_sink* sink,
                                                 bool unbind);

    client_stats stats() const;
    std::optional<pool::stats> pool_stats(std::string_view key) const;
    const client_options& options() const { return options_; }

  private:
    origin& origin_for(const parsed_url& url);
    // A connection fit for a request: expired or stale idle ones are closed (RST) on the way.
    // fresh_only: a new connection (for the retry).
    asio::awaitable<result<pool::lease<connection_ptr>>> acquire(origin& o, bool fresh_only);

    const client_options options_;
    const bool shared_;
    std::shared_ptr<client_counters> counters_;
    mutable std::mutex mutex_;  // guards origins_ when shared_
    std::vector<std::unique_ptr<origin>> origins_;
};

}  // namespace waitless::http::detail
