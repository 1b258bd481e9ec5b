// The HTTP/1.1 server: worker threads, each with its own event loop and SO_REUSEPORT listener,
// keep-alive with timeouts and limits, pipelining, and close policies that keep TIME_WAIT off
// the server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "waitless/core/address.hpp"
#include "waitless/core/error.hpp"
#include "waitless/http/exchange.hpp"
#include "waitless/http/parser.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/net/endpoint.hpp"

namespace waitless::http {

// Answers one request. Runs on the connection's worker thread, on its io::loop; must not block.
using handler = std::function<io::task<void>(exchange&)>;

// Where a server listens: a TCP endpoint or a Unix socket path.
struct listen_address {
    std::optional<net::endpoint> tcp;  // port 0: the kernel picks one
    std::string unix_path;             // when tcp is empty; "@name" for the abstract namespace

    // "IP:PORT", "[IPv6]:PORT", "localhost:PORT", "*:PORT" (all IPv4 addresses) or "unix:PATH".
    // Port 0 is allowed.
    static result<listen_address> parse(std::string_view text);
    // "IP:PORT", "[IPv6]:PORT" or "unix:PATH".
    std::string to_string() const;
};

// What the server does when it decides to close a connection, or is asked to.
enum class server_close_policy {
    // The default. A peer on loopback, a Unix socket or a trusted network: RST once the response
    // is acknowledged and nothing is unread (no TIME_WAIT anywhere; a Linux peer reads all it
    // received before it sees the reset). Any other peer: graceful, but idle connections with
    // nothing in flight get an RST.
    automatic,
    // FIN after the response: the server holds the TIME_WAIT. Idle connections get a FIN too.
    graceful,
    // Connection: close, then wait (peer_close_wait) for the client's FIN so the TIME_WAIT lands
    // on the client; past the wait an RST. Idle connections: RST.
    peer_first,
    // RST once the response is acknowledged; idle connections: RST. No TIME_WAIT anywhere.
    abortive,
};

struct server_options {
    std::vector<listen_address> listen;
    std::size_t workers = 0;                          // 0: one per CPU this process may use
    std::chrono::milliseconds idle_timeout{5000};     // between requests; advertised in Keep-Alive
    std::chrono::milliseconds header_timeout{10000};  // a request head from its first byte
    // How long a body read or a write may wait for the client (the per-operation timeout).
    std::chrono::milliseconds io_timeout{30000};
    std::size_t max_requests = 1000;      // per connection; 0: no limit
    std::size_t max_connections = 10000;  // shared evenly by the workers
    server_close_policy close_policy = server_close_policy::automatic;
    // Peers that automatic treats like loopback: their stacks are known to read all they
    // received before a reset (hosts of one data centre, a sidecar's network).
    std::vector<core::ip_network> trusted_peers;
    std::chrono::milliseconds peer_close_wait{2000};
    std::chrono::milliseconds drain_timeout{30000};  // shutdown: in-flight requests past it are cut
    // TCP listeners accept a connection once its request's first bytes came (TCP_DEFER_ACCEPT),
    // so the worker reads it at once and a request answered and closed in that turn never
    // enters epoll (one epoll_ctl() fewer per short connection). A client that sends nothing is
    // accepted anyway after about this long (the kernel's SYN-ACK retry). Zero: off.
    std::chrono::seconds defer_accept{1};
    parser_limits limits{.max_start_line = 4 * 1024, .max_head = 8 * 1024};
    std::size_t read_buffer = 16 * 1024;   // per connection; at least limits.max_head + 4 KiB
    std::size_t write_buffer = 64 * 1024;  // buffered response bytes before a write must wait
    std::size_t drain_limit = 64 * 1024;   // unread request body the server reads to keep alive
    // Per-worker state of a program built on the server (a proxy's upstream client): called on
    // each worker's thread with its index (0 .. workers-1), before its loop runs and after the
    // loop stopped (the loop still exists then, so what was made on it can be destroyed).
    std::function<void(std::size_t worker, io::loop& loop)> on_worker_start;
    std::function<void(std::size_t worker, io::loop& loop)> on_worker_stop;
};

// Counts since start, summed over the workers.
struct server_stats {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_refused = 0;  // accepted, then closed: no memory or epoll room
    std::uint64_t connections_open = 0;
    std::uint64_t requests = 0;
    std::uint64_t rejected_requests = 0;  // the parser refused them
    std::uint64_t header_timeouts = 0;
    std::uint64_t idle_timeouts = 0;
    std::uint64_t closed_time_wait_here = 0;  // this server sent the first FIN
    std::uint64_t closed_time_wait_peer = 0;  // the client's FIN came first
    std::uint64_t closed_reset = 0;           // an RST ended it: no TIME_WAIT anywhere
    std::uint64_t closed_not_tcp = 0;         // Unix sockets
};

namespace detail {
class worker;
}

class server {
  public:
    server(server_options options, handler h);
    ~server();  // stops and joins the workers if still running
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds every address (port 0 resolved once, then shared by all workers with SO_REUSEPORT)
    // and starts the workers. Failures are values; nothing runs then, nothing is left bound, no
    // socket file is left behind. A second start() is errc::already_connected.
    result<void> start();
    // The bound addresses, in the order given, with real ports ("127.0.0.1:43117").
    const std::vector<std::string>& addresses() const { return addresses_; }
    // Graceful shutdown, from any thread: stop accepting, finish in-flight requests (their
    // responses say Connection: close), close idle connections.
    void stop();
    // Blocks until every worker has finished.
    void wait();
    server_stats stats() const;
    const server_options& options() const { return options_; }

  private:
    server_options options_;
    handler handler_;
    std::vector<std::string> addresses_;
    std::vector<std::unique_ptr<detail::worker>> workers_;
    bool files_removed_ = false;
};

}  // namespace waitless::http
