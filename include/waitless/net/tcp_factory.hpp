// A factory of pooled TCP connections: connect with the options, check for staleness before
// reuse, close by a policy that keeps TIME_WAIT off this side. Fits pool::factory_for<socket>.
#pragma once

#include <cstdint>
#include <memory>

#include "waitless/net/close.hpp"
#include "waitless/net/connect.hpp"
#include "waitless/net/endpoint.hpp"
#include "waitless/net/socket.hpp"
#include "waitless/net/stale.hpp"

namespace waitless::net {

// Where the factory connects, how, and how it closes what the pool retires.
struct tcp_factory_options {
    endpoint remote{};
    connect_options connect{};  // source_addresses are used round-robin across creates
    // How destroy() closes. An idle pooled connection has empty queues, so the default RST
    // leaves no TIME_WAIT on either side; with bytes pending it sends a FIN instead.
    close_policy on_destroy = abortive_close{on_pending_data::close_gracefully};
};

// What the factory did, counted since it was made (copies share the counts).
struct tcp_factory_stats {
    std::uint64_t created = 0;
    std::uint64_t create_failures = 0;
    std::uint64_t connect_timeouts = 0;
    std::uint64_t stale_peer_closed = 0;  // validate() found the peer's FIN
    std::uint64_t stale_reset = 0;        // validate() found an RST or an error
    std::uint64_t stale_unexpected_data = 0;
    std::uint64_t closed_time_wait_here = 0;  // destroy() left a TIME_WAIT on this side
    std::uint64_t closed_time_wait_peer = 0;
    std::uint64_t closed_reset = 0;
};

// The members the pool calls, each safe to call from several threads at once (a peer_first
// request_close must be too). Cheap to copy: copies share the connector and the counts.
class tcp_connection_factory {
  public:
    explicit tcp_connection_factory(tcp_factory_options options);

    // A new connection to options.remote: connect() with the options, spread over the sources.
    result<socket> create();
    // False when the connection must not be handed out: not open, or the stale check failed.
    bool validate(socket& connection);
    // Closes by options.on_destroy; a refused abortive close falls back to a graceful one.
    void destroy(socket& connection);

    tcp_factory_stats stats() const;
    const tcp_factory_options& options() const;

  private:
    struct shared;
    std::shared_ptr<shared> shared_;
};

}  // namespace waitless::net
