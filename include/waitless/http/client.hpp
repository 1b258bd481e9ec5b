// The pooled HTTP/1.1 client: per-origin connection pools on waitless::pool, keep-alive that
// honours the server's timeout, one retry of replayable requests, and closes that keep TIME_WAIT
// off the client. Two faces over one protocol path (a coroutine on waitless::io): `client` for
// a worker's loop, and `blocking_client` for any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "waitless/core/error.hpp"
#include "waitless/http/client_error.hpp"
#include "waitless/http/parser.hpp"
#include "waitless/http/request.hpp"
#include "waitless/http/tunnel.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/net/options.hpp"
#include "waitless/pool/options.hpp"

namespace waitless::http {

namespace detail {
class client_core;
struct stream_state;
}  // namespace detail

// A response read as it arrives (what a proxy relays): the head at once, then the body piece by
// piece, with backpressure (nothing more is read from the socket until next() is awaited).
// From client::stream(); it must not outlive its client, and the request it answers (with what
// the request views) must stay valid until it ends.
class client_stream {
  public:
    client_stream();
    explicit client_stream(std::unique_ptr<detail::stream_state> state);
    client_stream(client_stream&&) noexcept;
    client_stream& operator=(client_stream&&) noexcept;
    // Must come before its client's. Before the body ended: the connection is reset (a
    // half-read connection never goes back to the pool). A request body still being pulled stops at
    // the pull's return, and the connection is reset then.
    ~client_stream();

    // Status and fields; its body stays empty.
    const client_response& head() const;
    // The next piece of the body, valid until the next call; an empty view once the body ended
    // (the connection then goes back to the pool, or closes as the response asked). An error
    // ends the stream and closes the connection.
    io::task<result<std::string_view>> next();
    bool ended() const;
    // After a 101 to an upgrade request (client_request::upgrade): the connection's socket,
    // taken off the loop, with the bytes already read past the 101's head; the stream ends.
    // client_errc::protocol_switch for any other stream.
    result<upgraded> take_upgraded();

  private:
    std::unique_ptr<detail::stream_state> state_;
};

struct client_options {
    std::size_t max_connections_per_origin = 64;
    // connect.timeout is the connect timeout; the other fields apply to every connection.
    net::connect_options connect{};
    std::chrono::milliseconds acquire_timeout{10000};  // waiting for a pooled connection
    std::chrono::milliseconds request_timeout{30000};  // sending the request and reading it all
    std::chrono::milliseconds response_header_timeout{10000};  // from the request sent to the head

    // Keep-alive. A connection is never reused past the server's "Keep-Alive: timeout=N" minus
    // this margin, so the request does not race the server's own idle close. A server that
    // does not advertise its timeout has it learned from the idle closes the client sees (two
    // closes after the same idle time), and the same margin applies. A request that cannot be
    // replayed (not idempotent, or a body that cannot be produced again) goes on a connection
    // only within the known timeout minus the margin; while none is known, on one idle less
    // than the margin, or less than the longest idle time seen survived minus the margin (but
    // never past a close seen in the last two minutes minus the margin), else on a new one.
    std::chrono::milliseconds keep_alive_margin{1000};
    // Idle connections older than this are closed with an RST (drained: no TIME_WAIT anywhere).
    std::chrono::milliseconds idle_timeout{60000};
    // Retirement: the last request on a connection carries "Connection: close", so the server
    // closes first and holds the TIME_WAIT. Zero: no limit. Each connection's lifetime is cut
    // by up to lifetime_jitter of it, at random, so connections opened together do not all
    // retire together.
    std::chrono::milliseconds max_lifetime{0};
    double lifetime_jitter = 0.1;
    std::uint64_t max_uses = 0;
    // How long a closing connection waits for the server's FIN before it resets instead.
    std::chrono::milliseconds peer_close_wait{1000};

    // Names resolve off the loop (a helper thread) and their addresses are kept this long;
    // zero: no cache. Every address of a name is tried in turn.
    std::chrono::milliseconds resolve_cache_ttl{30000};
    // An origin with no connection left that nobody asked for this long is dropped (its pool).
    std::chrono::milliseconds origin_idle_timeout{300000};

    std::uint64_t max_response_body = 64 * 1024 * 1024;  // collected bodies; sinks: unlimited
    parser_limits limits{};
    bool retry_once = true;  // a replayable request that failed on a reused connection
};

// Counts since the client was made, over all origins.
struct client_stats {
    std::uint64_t requests = 0;  // completed with a response
    std::uint64_t failures = 0;  // completed with an error
    std::uint64_t retries = 0;   // replayed on a fresh connection
    std::uint64_t reused = 0;    // requests sent on a connection used before
    std::uint64_t stale = 0;     // idle connections found closed or reset before reuse
    // Not reused: past the server's idle timeout (advertised or learned) minus the margin.
    std::uint64_t keep_alive_expired = 0;
    // Not reused by a request that cannot be replayed: idle too long for one while the
    // server's timeout is not known (closed: the request took a newer or a new connection).
    std::uint64_t too_idle_to_risk = 0;
    std::uint64_t retired = 0;  // sent with Connection: close for max_uses or max_lifetime
    std::uint64_t closed_time_wait_here = 0;  // closes that left the TIME_WAIT on this side
    std::uint64_t closed_time_wait_peer = 0;
    std::uint64_t closed_reset = 0;
};

// What the client knows of an origin's idle timeout.
struct idle_timeout_stats {
    std::optional<std::chrono::milliseconds> advertised;  // the last Keep-Alive: timeout=N seen
    // Learned from the server's idle closes (two after the same idle time, at different
    // moments: the shorter of them); forgotten when a connection outlives it.
    std::optional<std::chrono::milliseconds> learned;
    std::uint64_t idle_closes = 0;  // pooled connections the server closed while idle
};

// Awaitable face: one client per worker loop, used from coroutines on that loop's thread. Its
// pools (pool::loop_pool), connects, closes, timeouts and evictions all run on the loop; name
// lookups run on a helper thread and come back through loop::post(). The loop must outlive the
// client (and a name lookup in flight).
class client {
  public:
    explicit client(io::loop& l, client_options options = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // The response with its body collected (up to max_response_body). r and what it views
    // must stay valid until the task ends.
    io::task<result<client_response>> request(const client_request& r);
    // The response head; its body goes to sink piece by piece.
    io::task<result<client_response>> request(const client_request& r, body_sink sink);
    // The response as soon as its head is in, also while the request body is still going out
    // (full duplex); its body comes from the stream's next(). Retried like request() while no
    // byte of the response has arrived.
    io::task<result<client_stream>> stream(const client_request& r);

    client_stats stats() const;
    // The pool of an origin ("host:port" as in the URL, port included), if one was made.
    std::optional<pool::stats> pool_stats(std::string_view origin) const;
    // What is known of an origin's idle timeout, if its pool was made.
    std::optional<idle_timeout_stats> idle_timeout(std::string_view origin) const;
    // Closes the idle pooled connections now (RST: drained, no TIME_WAIT), counted in the
    // closes of stats(): what a proxy does before it reports at exit.
    void close_idle();
    const client_options& options() const;

  private:
    std::unique_ptr<detail::client_core> core_;
};

// Blocking face, safe to share between threads. Each call runs the same coroutine as `client`
// with io::block_on on the calling thread's private loop (not from inside a loop's turn). Its
// pools are the thread-safe pool::pool: a connection joins the calling thread's loop for one
// exchange and leaves it after, so any thread may use it next, and the pool's threads connect
// (blocking) and close idle connections that belong to no loop.
class blocking_client {
  public:
    explicit blocking_client(client_options options = {});
    ~blocking_client();
    blocking_client(const blocking_client&) = delete;
    blocking_client& operator=(const blocking_client&) = delete;

    result<client_response> request(const client_request& r);
    result<client_response> request(const client_request& r, body_sink sink);

    client_stats stats() const;
    std::optional<pool::stats> pool_stats(std::string_view origin) const;
    std::optional<idle_timeout_stats> idle_timeout(std::string_view origin) const;
    const client_options& options() const;

  private:
    std::unique_ptr<detail::client_core> core_;
};

}  // namespace waitless::http
