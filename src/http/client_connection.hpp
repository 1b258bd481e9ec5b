// One pooled client connection: the socket, its readiness on an io::loop, its read buffer and
// parser, and the exchange both client faces run (send a request, read its response, decide
// whether to keep it). The request body goes out from a coroutine of its own while the
// response is read (full duplex).
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "waitless/http/client.hpp"
#include "waitless/http/parser.hpp"
#include "waitless/http/request.hpp"
#include "waitless/http/tunnel.hpp"
#include "waitless/io/fd_watch.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/net/close.hpp"
#include "waitless/net/socket.hpp"
#include "waitless/net/stale.hpp"
#include "waitless/pool/clock.hpp"

namespace waitless::http::detail {

class idle_learner;

// The peer reset or closed the connection under us (ECONNRESET, EPIPE, ECONNABORTED).
bool connection_lost(std::error_code ec);

// How a connection is closed when the pool destroys it; each decides where TIME_WAIT lands.
enum class close_mode : std::uint8_t {
    idle,        // drained: RST when the queues are empty (no TIME_WAIT anywhere), else FIN
    peer_first,  // the server closes (Connection: close): wait for its FIN, then close
    reset,       // broken mid-exchange: RST, whatever is pending
};

// What the client decided about one exchange before running it.
struct exchange_plan {
    const client_request* request = nullptr;
    const body_sink* sink = nullptr;  // null: collect the body into the response
    std::string_view target;
    std::string_view host;  // the Host field's value
    std::uint64_t max_body = 0;
    bool close = false;            // send Connection: close (retirement)
    bool caller_close = false;     // the caller's own fields ask for Connection: close
    bool add_host = true;          // the caller gave no Host field
    bool expect_continue = false;  // Expect: 100-continue: the body waits for the 100 (a while)
    bool upgrade = false;          // a 101 is the answer asked for (client_request::upgrade)
    pool::time_point deadline{};
    std::chrono::milliseconds header_timeout{};
    std::chrono::milliseconds keep_alive_margin{};
};

struct exchange_outcome {
    std::error_code error;
    bool response_started = false;  // a byte of the response arrived: never replay then
    bool reusable = false;
    close_mode mode = close_mode::reset;
};

class client_connection {
  public:
    client_connection(net::socket s, const parser_limits& limits, pool::time_point now);
    ~client_connection();
    client_connection(const client_connection&) = delete;
    client_connection& operator=(const client_connection&) = delete;

    // Registers the descriptor with l (after taking it out of another loop): the loop that runs
    // the next exchange. Fails as io::loop::add() does (ENOMEM, ENOSPC).
    result<void> attach(io::loop& l);
    // Takes it out of its loop, so another thread's loop may use it or a pool thread close it.
    void detach();
    int native_handle() const { return fd_.native_handle(); }
    io::fd_watch& watch() { return watch_; }

    io::task<exchange_outcome> exchange(const exchange_plan& plan, client_response& out);
    // The same in steps, for a streamed response: the request and the head (o.error set when
    // it failed), then the body piece by piece (a piece is valid until the next call; ended at
    // the end, with o saying whether the connection is reusable). The caller calls
    // end_exchange() once a piece failed or ended the body, or when it stops early.
    io::task<exchange_outcome> start_stream(const exchange_plan& plan, client_response& head);
    io::task<bool> stream_piece(const exchange_plan& plan, exchange_outcome& o,
                                std::string_view& piece, bool& ended) {
        return read_body(plan, o, piece, ended);
    }
    // The same from what the buffer holds, without waiting: nothing when the socket must be
    // read first (then stream_piece()).
    std::optional<bool> stream_piece_now(const exchange_plan& plan, exchange_outcome& o,
                                         std::string_view& piece, bool& ended) {
        return read_body_now(plan, o, piece, ended);
    }
    void end_exchange();
    // The trailer fields of the body that just ended; valid until the next exchange.
    std::span<const header_field> trailers() const { return parser_.trailers(); }
    // After a 101: the socket leaves its loop and this connection, with the bytes read past
    // the 101's head. The connection is empty afterwards.
    upgraded hand_over();

    // The request body's sender, which runs beside the reading from the head's write on.
    bool uploading() const { return upload_.running; }
    // Nothing more of the body goes out: a waiting write ends now, a pull when it returns.
    void stop_upload();
    // Stops the sender and waits for its end; rethrows what a body source threw.
    io::task<void> join_upload();
    // Rethrows what a body source threw, once the sender has ended (no wait).
    void rethrow_upload();
    // Stops the sender and runs `last` at its end instead of resuming anyone (a stream that
    // ended or was dropped while a pull was under way); `last` may destroy this connection.
    void orphan_upload(std::move_only_function<void()> last);

    std::uint64_t uses() const { return uses_; }
    pool::time_point born() const { return born_; }
    // Its next request carries Connection: close from this moment on (max_lifetime, jittered).
    pool::time_point retire_at() const { return retire_at_; }
    void set_retire_at(pool::time_point at) { retire_at_ = at; }
    // Past this the server may already be closing the idle connection: do not reuse it.
    pool::time_point reuse_deadline() const { return reuse_deadline_; }
    // What a MSG_PEEK would say of the idle connection (net::check_liveness), without the
    // syscall when the loop's epoll watched it all along and reported nothing: a FIN, an RST or
    // stray bytes that came before this turn are in the watch's flags. Asked directly when
    // unwatched (the blocking face moves connections between loops), when something came, or
    // when idle long enough that a server's close may be landing right now.
    net::liveness liveness(pool::time_point now) const;
    // The last response said Keep-Alive: timeout=N (reuse_deadline() is then its own).
    bool advertised() const { return advertised_; }
    // When the last response ended, while the connection waits for its next request; the
    // epoch otherwise (never used, or in an exchange).
    pool::time_point idle_since() const { return idle_since_; }
    // The server's FIN or RST came while the connection was idle (seen by its loop).
    bool peer_closed() const { return peer_closed_at_ != pool::time_point{}; }
    // Where its idle closes are told (the origin's); set once, before the first exchange.
    void set_learner(std::shared_ptr<idle_learner> l) { learner_ = std::move(l); }
    idle_learner* learner() const { return learner_.get(); }
    void set_close_mode(close_mode m) { mode_ = m; }
    close_mode mode() const { return mode_; }
    void set_peer_close_wait(std::chrono::milliseconds wait) { peer_close_wait_ = wait; }
    // Closes by the close mode and says where TIME_WAIT went. peer_first blocks up to
    // peer_close_wait for the server's FIN: for a thread, never a loop (see close_on_loop).
    result<net::close_outcome> close();
    // The same on the connection's loop: the wait for the server's FIN is a coroutine's.
    io::task<result<net::close_outcome>> close_on_loop();

  private:
    struct upload_state {
        bool running = false;   // the sender started and has not ended
        bool stop = false;      // nothing more is to be sent
        bool finished = false;  // the whole body went out
        std::error_code error;  // why the sender ended early
        std::exception_ptr thrown;
        std::coroutine_handle<> joiner;
        std::move_only_function<void()> orphaned;
    };
    struct upload_end;  // the awaiter of join_upload()

    // The head (and a small body) into head_, sent first; the rest of the body by the sender.
    // Says whether body is left for the sender.
    bool format_head(const exchange_plan& plan);
    io::task<std::error_code> send_body(const exchange_plan& plan);
    static io::detail::detached run_upload(client_connection& c, const exchange_plan& plan);
    void upload_ended(const exchange_plan& plan, std::error_code ec);
    pool::time_point header_deadline(const exchange_plan& plan) const;
    io::task<std::error_code> write(std::string_view a, std::string_view b = {},
                                    std::string_view c = {});
    // One send of what it can of `data` at once, without waiting: the bytes sent (those
    // left go by write()); 0 with ec set on an error.
    std::size_t send_now(std::string_view data, std::error_code& ec);
    io::task<bool> send_request(const exchange_plan& plan, exchange_outcome& o);
    // send_request() when one send did not take the whole head.
    io::task<bool> send_rest(const exchange_plan& plan, exchange_outcome& o, std::size_t sent,
                             bool body_left);
    // What the head's sending (ec) makes of the exchange: false with o set when it failed;
    // otherwise the body's sender starts when one is left.
    bool head_sent(const exchange_plan& plan, exchange_outcome& o, std::error_code ec,
                   bool body_left);
    io::task<exchange_outcome> receive(const exchange_plan& plan, client_response& out);
    // False with o.error and o.mode set when the response failed.
    io::task<bool> read_head(const exchange_plan& plan, exchange_outcome& o, client_response& out);
    io::task<bool> read_body(const exchange_plan& plan, exchange_outcome& o,
                             std::string_view& piece, bool& ended);
    std::optional<bool> read_body_now(const exchange_plan& plan, exchange_outcome& o,
                                      std::string_view& piece, bool& ended);
    // read_body()'s judgement of the event it got.
    bool body_event(const exchange_plan& plan, exchange_outcome& o, parser::event what,
                    bool& ended);
    // The parser's next head, body piece or end (need_more: a 1xx ended), reading as needed.
    io::task<std::optional<parser::event>> next_event(exchange_outcome& o, std::string_view& body);
    // The same from the bytes in the buffer: an event, a failure (o.error and o.mode set), or
    // need_read when the socket must be read for more.
    enum class polled { event, failed, need_read };
    polled poll_event(exchange_outcome& o, std::string_view& body, parser::event& what);
    // Reads more bytes into the buffer; eof is set at the peer's FIN.
    io::task<std::error_code> read_more(bool& eof);
    // After a read_more() that began with `before` bytes buffered: false with o set when it
    // failed; o.response_started once a byte came.
    bool read_done(exchange_outcome& o, std::error_code ec, std::size_t before);
    // The deadline of the phase under way and the error its expiry means.
    void start_phase(pool::time_point deadline, client_errc kind);
    std::error_code timed_out_or(std::error_code ec) const;
    void finish_response(const exchange_plan& plan, exchange_outcome& o, bool eof);
    // The body's sender may go on: a 100 Continue or the final head came.
    void release_body() {
        if (continue_alarm_) continue_alarm_->cancel();
    }
    // The loop saw the peer's FIN or RST while nobody was reading.
    static void on_peer_hangup(void* self);

    net::socket fd_;
    io::fd_watch watch_;
    client_errc phase_ = client_errc::request_timeout;
    bool eof_ = false;                        // the peer's FIN came during this response
    bool interim_ = false;                    // inside a 1xx response
    bool head_in_ = false;                    // the final response head of this exchange arrived
    const exchange_plan* reading_ = nullptr;  // the plan of the response being read
    // Expect: 100-continue: what the sender waits on before the body (ended by release_body()).
    std::optional<io::alarm> continue_alarm_;
    upload_state upload_;

    parser parser_;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;  // unconsumed bytes are [begin_, end_)
    std::size_t end_ = 0;
    std::size_t max_buffer_ = 0;
    std::string head_;  // the request head being sent; keeps its capacity

    std::uint64_t uses_ = 0;
    pool::time_point born_;
    pool::time_point reuse_deadline_ = pool::time_point::max();
    pool::time_point retire_at_ = pool::time_point::max();
    pool::time_point idle_since_{};
    pool::time_point peer_closed_at_{};
    bool advertised_ = false;
    std::shared_ptr<idle_learner> learner_;
    close_mode mode_ = close_mode::idle;
    std::chrono::milliseconds peer_close_wait_{1000};
};

}  // namespace waitless::http::detail
