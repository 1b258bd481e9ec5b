// The state both client faces share: options, per-origin pools, counters, and the request path
// (acquire with stale and keep-alive checks, the exchange, the one retry).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client_connection.hpp"
#include "client_connector.hpp"
#include "client_resolver.hpp"
#include "client_wire.hpp"
#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/pool/lease.hpp"

namespace waitless::http::detail {

using connection_lease = pool::lease<connection_ptr>;

// One origin's pool, whichever face it is for.
class origin {
  public:
    explicit origin(std::string k) : key(std::move(k)), url_prefix("http://" + key) {}
    virtual ~origin() = default;
    origin(const origin&) = delete;
    origin& operator=(const origin&) = delete;

    virtual io::task<result<connection_lease>> acquire() = 0;
    // An idle connection at once, if the pool has one (no wait, no connect); the loop face's
    // only (the blocking face waits in acquire()).
    virtual std::optional<connection_lease> take_idle() = 0;
    virtual pool::stats stats() const = 0;
    // A connection of its own, outside the pool (an upgrade), and its end by its close mode.
    virtual io::task<result<connection_ptr>> connect() = 0;
    virtual void discard(connection_ptr& c) = 0;
    virtual void clear() = 0;  // closes the idle connections

    const std::string key;         // "host[:port]" as in the URL, also the Host field's value
    const std::string url_prefix;  // "http://" and the key
    pool::time_point last_used{};
    std::shared_ptr<idle_learner> idle;  // what its connections tell of its idle timeout
};

// What a request needs once its URL and fields are checked.
struct request_setup {
    std::shared_ptr<origin> o;  // keeps the origin's pool alive while the request runs
    exchange_plan plan;
    io::loop* here = nullptr;  // the loop the exchange runs on
};

struct stream_state;

class client_core {
  public:
    // loop: the worker loop of the awaitable face, whose pools live on it. nullptr: the
    // blocking face, whose pools are thread-safe and whose connections join the calling
    // thread's loop for each exchange only.
    client_core(client_options options, io::loop* loop);

    io::task<result<client_response>> run(const client_request& r, const body_sink* sink);
    // The loop face's streamed response: returns once the head is in.
    io::task<result<client_stream>> stream(const client_request& r);

    // A finished exchange: the connection back to the pool, or closed by the outcome's mode.
    void settle(connection_lease& l, const exchange_outcome& out);
    // Counts a failure and hands ec back.
    std::error_code failed(std::error_code ec);
    void completed() { bump(counters_->requests); }

    client_stats stats() const;
    std::optional<pool::stats> pool_stats(std::string_view key) const;
    std::optional<idle_timeout_stats> idle_timeout(std::string_view key) const;
    void close_idle();
    const client_options& options() const { return options_; }
    // A stream's state, its response ended or abandoned now, kept for a next stream (the loop
    // face keeps a few: their response storage is reused rather than allocated anew).
    void recycle(std::unique_ptr<stream_state> s);

  private:
    result<request_setup> setup(const client_request& r, const body_sink* sink, bool streamed);
    // Sends the request and reads the response head into s.head (the outcome says how it went);
    // lets r's cancel_handle reach the connection. Should a body source throw, the connection
    // is in an unknown state: the caller's stream_state, dropped on the way out, abandons it.
    io::task<exchange_outcome> start_stream(stream_state& s, const client_request& r);
    // Joins the connection to the request's loop and plans retirement and the deadline; says
    // whether the connection was used before.
    result<bool> begin(request_setup& st, connection_lease& l);
    // Whether a failed exchange is replayed (once, on a fresh connection).
    bool retry(const client_request& r, const exchange_outcome& out, bool reused, bool& retried);
    // The origin of a URL, made on first use; target: the URL's request target.
    result<std::shared_ptr<origin>> origin_for(std::string_view url, std::string_view& target);
    std::shared_ptr<origin> make_origin(const parsed_url& url);
    // stream() for an upgrade: a new connection outside the pool, no retry.
    io::task<result<client_stream>> stream_upgrade(const client_request& r, request_setup st);
    // Drops origins with no connection left that nobody used for origin_idle_timeout.
    void sweep(pool::time_point now);
    // A connection fit for a request: expired or stale idle ones are closed (RST) on the way.
    // fresh_only: a new connection (for the retry). replayable: the request may be sent again,
    // so it may take a connection idle longer than a known timeout allows (see
    // client_options::keep_alive_margin).
    // An idle one that fits comes as a ready task (no coroutine): the usual case of a busy
    // origin.
    io::task<result<connection_lease>> acquire(origin& o, bool fresh_only, bool replayable);
    // acquire() when no idle connection fits: waits for the pool.
    io::task<result<connection_lease>> acquire_waiting(origin& o, bool fresh_only, bool replayable);
    // An idle connection that fits, nullopt when none is idle (unfit ones met on the way are
    // closed).
    std::optional<connection_lease> take_idle(origin& o, bool fresh_only, bool replayable);
    // Whether a connection from the pool may carry the request; if not it is closed (RST).
    bool fit_for_request(origin& o, connection_lease& l, bool fresh_only, bool replayable);
    // Whether an idle connection may carry the request, by its idle time.
    bool idle_fits(const origin& o, const client_connection& c, pool::time_point now,
                   bool replayable);

    std::unique_ptr<stream_state> make_stream(request_setup st);

    const client_options options_;
    io::loop* const loop_;
    std::shared_ptr<client_counters> counters_;
    std::shared_ptr<resolver> names_;
    mutable std::mutex mutex_;  // guards origins_ for the blocking face
    std::vector<std::shared_ptr<origin>> origins_;
    pool::time_point last_sweep_{};
    std::vector<std::unique_ptr<stream_state>> spare_streams_;
};

// A response being read piece by piece (client_stream's insides).
struct stream_state {
    stream_state(client_core& c, request_setup s) : core(&c), setup(std::move(s)) {}
    ~stream_state();
    stream_state(const stream_state&) = delete;
    stream_state& operator=(const stream_state&) = delete;

    client_connection& connection() { return own ? *own : **lease; }
    // Whether the response is still being read (a connection is held).
    bool live() const { return own || lease; }
    io::task<result<std::string_view>> next();
    // next() when the socket must be read for the piece.
    io::task<result<std::string_view>> next_read();
    // What a piece read (or its failure, or the body's end) makes of the stream.
    result<std::string_view> piece_done(bool ok, bool ended, std::string_view piece);
    // Ends it early: the connection is reset, never reused.
    void abandon();
    // After a 101 to an upgrade request: the socket, handed over.
    result<upgraded> take_upgraded();
    // The connection back to the pool or closed by the outcome, once the body's sender ended.
    void settle();
    // The request's cancel_handle no longer points at this connection.
    void forget_cancel();

    client_core* core;
    request_setup setup;
    connection_lease lease;  // empty once the body ended
    connection_ptr own;      // instead of a lease: an upgrade's connection, never pooled
    exchange_outcome outcome;
    client_response head;
};

}  // namespace waitless::http::detail
