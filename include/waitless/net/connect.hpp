// Outgoing connections: TCP with a timeout, options and source-address spreading; Unix sockets.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string_view>

#include "waitless/core/error.hpp"
#include "waitless/net/endpoint.hpp"
#include "waitless/net/options.hpp"
#include "waitless/net/socket.hpp"

namespace waitless::net {

// A non-blocking TCP socket of remote's family with every option applied and, when
// options.source_addresses is not empty, bound to source_addresses[source_index % size].
// The async layer connects it itself; connect() below does it synchronously.
result<socket> open_for_connect(const endpoint& remote, const connect_options& options,
                                std::size_t source_index = 0);

// The two halves of a connect for an event loop: start_connect() on a socket from
// open_for_connect() says true when connected at once, false when in progress (wait for it to
// be writable, then ask connect_error()), or the error.
result<bool> start_connect(const socket& s, const endpoint& remote);
// SO_ERROR of a connect that was in progress: success, or why it failed.
result<void> connect_error(int fd);

// Connects within options.timeout (errc::connect_timeout past it). When a source address has
// no free port left for this destination (EADDRNOTAVAIL), tries the next source, each once.
result<socket> connect(const endpoint& remote, const connect_options& options = {},
                       std::size_t first_source = 0);

// Spreads connections over options.source_addresses round-robin. Safe to share between
// threads: the only shared state is the counter.
class connector {
  public:
    explicit connector(connect_options options) : options_(std::move(options)) {}
    // Moving is for set-up (into a factory, a pool); never while another thread connects.
    connector(connector&& other) noexcept
        : options_(std::move(other.options_)),
          next_source_(other.next_source_.load(std::memory_order_relaxed)) {}

    result<socket> connect(const endpoint& remote);
    const connect_options& options() const { return options_; }

  private:
    connect_options options_;
    std::atomic<std::size_t> next_source_{0};
};

// A Unix stream socket connected to path ("@name" for the abstract namespace). A listener whose
// backlog stays full past timeout gives errc::connect_timeout.
result<socket> connect_unix(std::string_view path,
                            std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace waitless::net
