// One server connection: the read buffer the parser works on, the response buffer written
// once per batch, the exchanges run in order, and the close by the server's policy.
#pragma once

#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "http/server_worker.hpp"
#include "waitless/http/exchange.hpp"
#include "waitless/http/parser.hpp"
#include "waitless/http/tunnel.hpp"
#include "waitless/io/deadline_list.hpp"
#include "waitless/io/fd_watch.hpp"
#include "waitless/net/close.hpp"
#include "waitless/net/socket.hpp"

namespace waitless::http::detail {

class tunnel_control;

// The server frames every response itself: whether a handler's field may go into a head (no
// line break, not a field the server owns). bytes_checked: the name and value are known good
// (exchange::start's fields_checked); only the name is compared.
bool acceptable_field(const header_field& f, bool bytes_checked = false);
void append_number(std::string& out, std::uint64_t n, int base = 10);

class connection {
  public:
    // peer: empty for a Unix socket. Throws std::bad_alloc when its buffer cannot be had.
    // linger_reset: the socket inherited SO_LINGER {1, 0} from its listener.
    connection(worker& owner, net::socket socket, std::optional<net::endpoint> peer,
               bool linger_reset);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Adds the socket to the worker's loop, or only adopts it there when its request came
    // with the accept (a deferred listener): into epoll at its first wait. A failure refuses
    // this connection only.
    result<void> open(bool request_waiting);
    io::task<void> run();

    // From the worker, on its thread.
    void expire();          // an armed deadline passed
    void stop_if_idle();    // shutdown: an idle connection closes now, a busy one after it
    void force_close();     // the drain timeout passed
    std::size_t index = 0;  // in the worker's list

    // The exchange's face.
    const message_head& request() const { return parser_.head(); }
    const std::optional<net::endpoint>& peer() const { return peer_; }
    std::optional<net::endpoint> local() const;
    io::task<result<std::string_view>> read_body();
    result<void> send(const prepared_response& response);
    result<void> start(int status, std::span<const header_field> fields,
                       std::optional<std::uint64_t> content_length, bool fields_checked);
    io::task<result<void>> write(std::string_view body);
    void end();
    result<void> end(std::span<const header_field> trailers);
    result<void> informational(int status, std::span<const header_field> fields);
    // The request's trailer fields, once its chunked body was read whole.
    std::span<const header_field> request_trailers() const {
        return body_done_ ? parser_.trailers() : std::span<const header_field>{};
    }
    io::task<result<tunnel_totals>> tunnel(upgraded other);
    // The response cannot be completed: the connection ends with an RST after the handler.
    void abort() {
        broken_ = true;
        keep_alive_ = false;
    }
    bool responded() const { return response_.started; }
    void on_cancel(std::function<void()> hook);
    bool cancelled() const { return cancelled_; }
    bool stopping() const { return owner_.stopping() || !keep_alive_; }

  private:
    enum class read_status { ok, eof, timeout, stopped, failed };
    enum class interrupt { none, timeout, shutdown, forced };
    enum class close_reason { idle, peer_gone, after_response, forced };
    struct response_state {
        bool started = false;
        bool ended = false;
        bool chunked = false;
        bool until_close = false;  // an HTTP/1.0 client and no length: only a FIN ends it
        bool head_only = false;    // a HEAD request: body bytes are dropped
        std::uint64_t remaining = 0;
    };

    // Without waiting: a result, or nothing when the socket must be waited for first.
    std::optional<read_status> read_now();
    io::task<read_status> read_more(timeout_kind kind);
    // Writes what the socket takes now; true when nothing is left. False with the socket still
    // marked writable: the write failed.
    bool flush_now();
    // Writes until at most `keep` bytes are left buffered, waiting for the client as needed.
    io::task<bool> flush(std::size_t keep = 0);
    // write()'s wait when its piece filled the buffer to the high-water mark.
    io::task<result<void>> flush_written();
    // A socket adopted at accept goes into epoll before it first waits. Should epoll refuse
    // (ENOSPC, ENOMEM), the connection is refused as it would have been at accept: counted,
    // and cut (interrupt::forced).
    result<void> ensure_registered();
    // co_await wait_ready(...): true when the socket is ready, false when a timeout, shutdown
    // or failure ended the wait. An awaiter, not a task: no frame for the most common wait.
    auto wait_ready(bool for_write, timeout_kind kind) {
        struct awaiter {
            connection& c;
            io::deadline_hook& hook;
            timeout_kind kind;
            decltype(std::declval<io::fd_watch&>().wait(false)) inner;
            bool await_ready() {
                c.owner_.watch(hook, kind);
                if (!c.ensure_registered()) return true;  // refused: ends at once
                return inner.await_ready();
            }
            bool await_suspend(std::coroutine_handle<> h) { return inner.await_suspend(h); }
            bool await_resume() {
                const auto ec = inner.await_resume();
                // A head, an idle wait and a close wait keep their deadline across waits (see
                // worker::watch); a body read or a write has its own each time.
                if (kind == timeout_kind::io) hook.unlink();
                return !ec && c.interrupt_ == interrupt::none;
            }
        };
        return awaiter{*this, for_write ? write_deadline_ : read_deadline_, kind,
                       watch_.wait(for_write)};
    }
    // Waits while another coroutine of this connection (reader or writer) flushes.
    auto flush_turn() {
        struct awaiter {
            connection& c;
            bool await_ready() const noexcept { return !c.writing_; }
            void await_suspend(std::coroutine_handle<> h) noexcept { c.flush_waiter_ = h; }
            void await_resume() const noexcept {}
        };
        return awaiter{*this};
    }
    // An exchange's state before its handler runs, and its end after: false, or true when
    // the request body's rest must be read (drain_body()) before the next request.
    void begin_exchange();
    bool finish_exchange(bool threw);
    io::task<bool> drain_body();
    io::task<void> close(close_reason reason);
    io::task<bool> wait_for_peer_close();
    io::task<bool> wait_until_acknowledged();  // true: nothing unacknowledged
    void reject(int status);
    bool decide_keep_alive(bool length_known);
    bool needs_room_for_body() const;  // of the head just parsed, where it lies
    bool body_ends_in_buffer() const;  // the unread chunked body, without taking it
    bool resets_are_safe() const;      // the automatic policy may reset this peer
    void append_connection_fields();
    void make_room();
    void disarm();
    void record_close(net::close_outcome outcome);
    void cancel_exchange();  // runs the handler's cancel hook, once
    // The request asks to switch protocols and may: HTTP/1.1, Upgrade and Connection: upgrade,
    // no body.
    bool upgrade_requested() const;
    // start() for 101 Switching Protocols.
    result<void> start_switch(std::span<const header_field> fields);
    void stop_tunnel();  // the drain timeout ends a tunnel that runs
    // close() for a connection that was a tunnel: its FINs, if any, went already.
    void close_tunneled();
    // An RST now (the caller knows nothing queued matters); fd is the released socket_.
    net::close_outcome close_with_reset(int fd) const;
    // Before a close() that may send a FIN: a socket that inherited SO_LINGER {1, 0} would
    // reset instead.
    void allow_fin(int fd) const;
    static void on_hangup(void* self);

    worker& owner_;
    net::socket socket_;
    io::fd_watch watch_;
    std::optional<net::endpoint> peer_;
    // SO_LINGER {1, 0} from the listener: close() alone resets; a FIN needs set_reset_on_close(fd,
    // false) first.
    bool linger_reset_ = false;
    io::deadline_hook read_deadline_, write_deadline_;
    parser parser_;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_;
    std::size_t begin_ = 0;     // unconsumed bytes start here
    std::size_t end_ = 0;       // and end here
    std::size_t head_end_ = 0;  // while an exchange runs, [.., head_end_) holds its head
    int sync_reads_ = 0;        // reads in a row without waiting
    std::string out_;           // response bytes not yet written
    std::size_t requests_ = 0;
    bool keep_alive_ = true;
    // The last request asked for the close and was read whole: the client sends nothing more.
    bool client_done_ = false;
    bool send_more_ = false;  // the bytes flushed now are not the last: MSG_MORE holds a tail
    bool idle_wait_ = false;  // suspended waiting for the first byte of a request
    bool body_done_ = false;
    bool continue_sent_ = false;
    bool writing_ = false;  // a coroutine is flushing; another that must flush waits its turn
    std::coroutine_handle<> flush_waiter_;
    std::function<void()> cancel_hook_;  // the running exchange's, if it set one
    bool in_exchange_ = false;
    bool cancelled_ = false;
    bool broken_ = false;  // a response that cannot be completed: close without more
    std::error_code body_error_;
    interrupt interrupt_ = interrupt::none;
    response_state response_;
    // Switching protocols: a 101 was started (switching_), the tunnel ran (tunneled_).
    bool switching_ = false;
    bool tunneled_ = false;
    bool tunnel_clean_ = false;         // it ended with a FIN each way
    bool tunnel_fin_here_ = false;      // and ours to the client went first
    tunnel_control* tunnel_ = nullptr;  // while it runs: the drain timeout ends it
};

}  // namespace waitless::http::detail
