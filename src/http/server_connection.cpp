// A server connection: parse, run the exchanges in order, write a batch of responses at once,
// and close by the policy so that the TIME_WAIT lands where it should.
#include "http/server_connection.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <new>

#include "http/scan.hpp"
#include "waitless/http/error.hpp"
#include "waitless/net/close.hpp"
#include "waitless/net/io.hpp"

namespace waitless::http::detail {

void append_number(std::string& out, std::uint64_t n, int base) {
    char digits[24];
    // Base 10, the usual, by the overload made for it (no division by a variable).
    const auto r = base == 10 ? std::to_chars(digits, digits + sizeof digits, n)
                              : std::to_chars(digits, digits + sizeof digits, n, base);
    out.append(digits, r.ptr);
}

namespace {

bool bodyless_status(int status) { return status < 200 || status == 204 || status == 304; }

std::unexpected<std::error_code> failure(std::errc e) {
    return std::unexpected(std::make_error_code(e));
}

std::unexpected<std::error_code> misuse(errc e) { return std::unexpected(make_error_code(e)); }

}  // namespace

bool acceptable_field(const header_field& f, bool bytes_checked) {
    // A token for a name (RFC 9110 5.1), no control character but HTAB in a value (5.5): a CR
    // or LF would end the field and let a handler's data write fields of its own.
    if (!bytes_checked && (!detail::is_token(f.name) || detail::has_field_control(f.value)))
        return false;
    // The framing is the server's own. By length first: most names are none of these.
    switch (f.name.size()) {
        case 10:
            return !iequals(f.name, "connection");
        case 14:
            return !iequals(f.name, "content-length");
        case 17:
            return !iequals(f.name, "transfer-encoding");
        default:
            return true;
    }
}

connection::connection(worker& owner, net::socket socket, std::optional<net::endpoint> peer,
                       bool linger_reset)
    : owner_(owner),
      socket_(std::move(socket)),
      peer_(peer),
      linger_reset_(linger_reset),
      parser_(parser_kind::request, owner.options().limits),
      buffer_(),
      capacity_(std::max(owner.options().read_buffer, owner.options().limits.max_head + 4096)) {
    // A buffer another connection gave back, else a new one (bad_alloc refuses the connection).
    buffer_ = owner_.take_buffer(capacity_);
    if (!buffer_) throw std::bad_alloc();
    read_deadline_.item = write_deadline_.item = this;
}

connection::~connection() {
    disarm();
    if (buffer_) owner_.give_buffer(std::move(buffer_));  // short connections reuse buffers
    owner_.forget(*this);
}

result<void> connection::open(bool request_waiting) {
    watch_.on_hangup(&connection::on_hangup, this);
    if (request_waiting) {
        // Read at once; into epoll only at the first wait (a short connection answered now
        // never gets there).
        owner_.loop().adopt(socket_.native_handle(), watch_);
        return {};
    }
    // The first read waits for epoll's word: most connections are accepted before their
    // request arrives (a read now would mostly meet EAGAIN), and one that came already is
    // reported at once, since registering an edge-triggered descriptor reports its state.
    watch_.readable = false;
    return owner_.loop().add(socket_.native_handle(), watch_);
}

result<void> connection::ensure_registered() {
    if (watch_.registered()) return {};
    auto added = watch_.register_now();
    if (!added) {
        owner_.counters().refused.add();
        interrupt_ = interrupt::forced;
    }
    return added;
}

std::optional<net::endpoint> connection::local() const {
    if (!peer_) return std::nullopt;
    auto e = net::local_endpoint(socket_.native_handle());
    if (!e) return std::nullopt;
    return *e;
}

void connection::disarm() {
    read_deadline_.unlink();
    write_deadline_.unlink();
}

void connection::expire() {
    if (interrupt_ == interrupt::none) interrupt_ = interrupt::timeout;
    watch_.cancel();
}

void connection::stop_if_idle() {
    if (!idle_wait_) return;
    interrupt_ = interrupt::shutdown;
    watch_.cancel();
}

void connection::force_close() {
    interrupt_ = interrupt::forced;
    watch_.cancel();
    if (tunnel_ != nullptr) stop_tunnel();
    cancel_exchange();
}

void connection::on_cancel(std::function<void()> hook) {
    cancel_hook_ = std::move(hook);
    if (cancelled_ && cancel_hook_) std::exchange(cancel_hook_, {})();
}

void connection::cancel_exchange() {
    if (!in_exchange_ || cancelled_) return;
    cancelled_ = true;
    if (cancel_hook_) std::exchange(cancel_hook_, {})();
}

void connection::on_hangup(void* self) {
    auto& c = *static_cast<connection*>(self);
    // In a tunnel a FIN is a half-close to relay, not a client that went away.
    if (!c.tunneled_) c.cancel_exchange();
}

std::optional<connection::read_status> connection::read_now() {
    const int fd = socket_.native_handle();
    for (;;) {
        if (interrupt_ != interrupt::none || !watch_.readable) return std::nullopt;
        // A client that keeps the socket full would otherwise never let the worker go.
        if (++sync_reads_ > 16) return std::nullopt;
        if (!buffer_ && !(buffer_ = owner_.take_buffer(capacity_))) return read_status::failed;
        const std::size_t space = capacity_ - end_;
        const auto n = net::recv_some(fd, buffer_.get() + end_, space, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                watch_.readable = false;
                return std::nullopt;
            }
            return read_status::failed;
        }
        if (n == 0) return read_status::eof;
        end_ += static_cast<std::size_t>(n);
        // Short: the socket is empty now, and newer bytes will raise a new edge (a FIN already
        // reported will not: the next recv() returns its 0).
        if (static_cast<std::size_t>(n) < space && !watch_.peer_shut_down) watch_.readable = false;
        return read_status::ok;
    }
}

io::task<connection::read_status> connection::read_more(timeout_kind kind) {
    auto interrupted = [this] {
        switch (interrupt_) {
            case interrupt::timeout:
                return read_status::timeout;
            case interrupt::shutdown:
                return read_status::stopped;
            default:
                return read_status::failed;
        }
    };
    for (;;) {
        if (const auto got = read_now()) co_return *got;
        if (interrupt_ != interrupt::none) co_return interrupted();
        if (sync_reads_ > 16) {
            sync_reads_ = 0;
            co_await owner_.loop().yield();
            continue;
        }
        sync_reads_ = 0;
        if (!co_await wait_ready(false, kind)) co_return interrupted();
    }
}

bool connection::flush_now() {
    const int fd = socket_.native_handle();
    while (!out_.empty() && watch_.writable && interrupt_ != interrupt::forced) {
        const auto n = net::send_some(fd, out_.data(), out_.size(),
                                      MSG_NOSIGNAL | (send_more_ ? MSG_MORE : 0));
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                watch_.writable = false;
                return false;
            }
            return false;  // still "writable": the write failed, waiting would not help
        }
        out_.erase(0, static_cast<std::size_t>(n));
    }
    return out_.empty();
}

io::task<bool> connection::flush(std::size_t keep) {
    while (writing_) co_await flush_turn();
    writing_ = true;
    bool ok = true;
    while (!flush_now() && out_.size() > keep) {
        // The client is slower than we are: wait for it, within the io timeout.
        if (watch_.writable || interrupt_ == interrupt::forced ||
            !co_await wait_ready(true, timeout_kind::io)) {
            ok = false;
            break;
        }
    }
    writing_ = false;
    if (flush_waiter_) owner_.loop().schedule(std::exchange(flush_waiter_, {}));
    co_return ok;
}

void connection::make_room() {
    const std::size_t keep = head_end_;  // the running exchange's head stays where it is
    if (begin_ == end_) {
        begin_ = end_ = keep;
        return;
    }
    if (begin_ > keep && capacity_ - end_ < capacity_ / 4) {
        std::memmove(buffer_.get() + keep, buffer_.get() + begin_, end_ - begin_);
        end_ -= begin_ - keep;
        begin_ = keep;
    }
}

io::task<void> connection::run() {
    close_reason reason = close_reason::peer_gone;
    for (;;) {
        const std::size_t head_begin = begin_;
        auto step = parser_.parse(std::string_view(buffer_.get() + begin_, end_ - begin_));
        if (!step) {
            owner_.counters().rejected.add();
            disarm();
            response_ = {};
            reject(status_for(step.error()));
            reason = close_reason::after_response;
            break;
        }
        begin_ += step->consumed;
        if (step->what == parser::event::head) {
            if (head_begin > 0 && needs_room_for_body()) {
                // The head stays put while its body is read (its views point into it), so a
                // head late in the buffer moves to the front first; parsing it again remakes
                // the views. Rare: pipelined heads near the end of a full buffer.
                std::memmove(buffer_.get(), buffer_.get() + head_begin, end_ - head_begin);
                end_ -= head_begin;
                begin_ = 0;
                parser_ = parser(parser_kind::request, owner_.options().limits);
                continue;
            }
            disarm();
            head_end_ = begin_;
            // The exchange runs in this frame: begin, the handler, finish.
            begin_exchange();
            bool threw = false;
            try {
                exchange ex(*this);
                auto handling = owner_.request_handler()(ex);
                // Not in epoll yet (adopted at accept): a handler that waits for something else
                // (an upstream) must still hear the client go away.
                if (!watch_.registered() && !handling.start()) (void)ensure_registered();
                co_await std::move(handling);
            } catch (...) {
                threw = true;  // a handler's bug must not take the worker down
            }
            if (finish_exchange(threw)) {
                // The next request starts where this body ends: read what the handler left.
                const bool drained = co_await drain_body();
                if (!drained) keep_alive_ = false;
            }
            head_end_ = 0;
            if (begin_ == end_) begin_ = end_ = 0;
            ++requests_;
            owner_.counters().requests.add();
            if (broken_) break;
            if (!keep_alive_) {
                reason = close_reason::after_response;
                const auto& head = parser_.head();
                client_done_ =
                    !head.keep_alive && (head.framing == body_framing::none || body_done_);
                break;
            }
            // Pipelined responses collect in out_; past the high-water mark the client must
            // take some before more requests are answered.
            if (out_.size() >= owner_.options().write_buffer && !co_await flush()) break;
            continue;
        }
        if (step->what != parser::event::need_more) continue;
        if (begin_ == end_) begin_ = end_ = 0;
        if (!flush_now() && !co_await flush()) break;
        const bool in_message = parser_.in_message();
        if (!in_message && owner_.stopping()) {
            reason = close_reason::idle;
            break;
        }
        make_room();
        const auto kind = in_message || requests_ == 0 ? timeout_kind::header : timeout_kind::idle;
        idle_wait_ = !in_message;
        auto got = read_now();
        if (!got && !in_message && begin_ == end_ && buffer_) {
            // Idle between requests: the buffer serves another connection meanwhile.
            owner_.give_buffer(std::move(buffer_));
        }
        if (!got) got = co_await read_more(kind);
        idle_wait_ = false;
        if (*got == read_status::ok) continue;
        if (*got == read_status::timeout) {
            disarm();
            if (in_message) {
                // A slow client: tell it why, then close like any server-decided close.
                owner_.counters().header_timeouts.add();
                response_ = {};
                reject(408);
                reason = close_reason::after_response;
            } else {
                owner_.counters().idle_timeouts.add();
                reason = close_reason::idle;
            }
        } else if (*got == read_status::stopped) {
            reason = close_reason::idle;
        } else if (interrupt_ == interrupt::forced) {
            reason = close_reason::forced;
        }
        break;
    }
    co_await close(reason);
}

bool connection::needs_room_for_body() const {
    const auto& head = parser_.head();
    if (head.framing == body_framing::none) return false;
    if (head.framing == body_framing::content_length && head.content_length <= end_ - begin_) {
        return false;  // the whole body is here already
    }
    // A head at the front leaves at least capacity_ - max_head: give every body that much.
    return begin_ > owner_.options().limits.max_head;
}

void connection::begin_exchange() {
    const auto& head = parser_.head();
    response_ = {};
    switching_ = false;
    response_.head_only = head.method == "HEAD";
    body_done_ = false;
    continue_sent_ = false;
    body_error_ = {};
    keep_alive_ = head.keep_alive;
    in_exchange_ = true;
    cancelled_ = false;
}

bool connection::finish_exchange(bool threw) {
    in_exchange_ = false;
    cancel_hook_ = {};
    if (broken_) return false;
    if (!response_.started) {
        reject(body_error_ ? status_for(body_error_) : 500);
        return false;
    }
    if (!response_.ended) {
        // A length promised and not met, or a body that failed under the handler: ending it
        // would pass a cut-off response as whole. Only a handler that just forgot gets end():
        // a chunked one, or one whose length was met.
        const bool length_short = !response_.chunked && !response_.until_close &&
                                  !response_.head_only && response_.remaining > 0;
        if (threw || body_error_ || length_short) {
            broken_ = true;
            return false;
        }
        end();
    }
    return !broken_ && keep_alive_ && parser_.head().framing != body_framing::none;
}

io::task<bool> connection::drain_body() {
    std::uint64_t drained = 0;
    for (;;) {
        auto piece = co_await read_body();
        if (!piece) co_return false;
        if (piece->empty()) co_return true;
        drained += piece->size();
        if (drained > owner_.options().drain_limit) co_return false;
    }
}

io::task<result<std::string_view>> connection::read_body() {
    if (body_done_) co_return std::string_view();
    if (body_error_) co_return std::unexpected(body_error_);
    if (broken_) co_return failure(std::errc::connection_aborted);
    const auto& head = parser_.head();
    // HTTP/1.0 has no 100 Continue (RFC 9110 10.1.1).
    if (head.expect_continue && head.version_minor >= 1 && !continue_sent_ && !response_.started &&
        head.framing != body_framing::none) {
        out_.append("HTTP/1.1 100 Continue\r\n\r\n");
        continue_sent_ = true;
    }
    for (;;) {
        auto step = parser_.parse(std::string_view(buffer_.get() + begin_, end_ - begin_));
        if (!step) {
            owner_.counters().rejected.add();
            body_error_ = step.error();
            co_return std::unexpected(body_error_);
        }
        begin_ += step->consumed;
        if (step->what == parser::event::body) co_return step->body;
        if (step->what == parser::event::end) {
            body_done_ = true;
            co_return std::string_view();
        }
        // Whatever the handler wrote goes out before we wait (a streamed echo keeps moving);
        // only output past the high-water mark holds the reading back. A write() in progress
        // owns the output: this side just reads.
        if (!writing_ && !flush_now() && out_.size() >= owner_.options().write_buffer &&
            !co_await flush(owner_.options().write_buffer - 1)) {
            broken_ = true;
            co_return failure(std::errc::connection_aborted);
        }
        make_room();
        if (end_ == capacity_) {  // trailers that do not fit beside the head
            body_error_ = make_error_code(errc::head_too_large);
            co_return std::unexpected(body_error_);
        }
        const auto got = co_await read_more(timeout_kind::io);
        if (got == read_status::ok) continue;
        broken_ = true;
        if (got == read_status::eof)
            co_return std::unexpected(make_error_code(errc::partial_message));
        co_return failure(got == read_status::timeout ? std::errc::timed_out
                                                      : std::errc::connection_aborted);
    }
}

bool connection::decide_keep_alive(bool length_known) {
    const auto& head = parser_.head();
    const auto& options = owner_.options();
    bool keep = keep_alive_ && !owner_.stopping() &&
                (options.max_requests == 0 || requests_ + 1 < options.max_requests);
    if (!body_done_ && head.framing != body_framing::none) {
        // Keep-alive is promised only if the drain after the handler cannot fail: a body the
        // client was told to hold back (100-continue) may never come, a long one is not worth
        // reading, and a chunked one must end within the bytes already here.
        if (head.expect_continue && !continue_sent_) keep = false;
        if (body_error_) keep = false;
        if (head.framing == body_framing::content_length &&
            head.content_length - parser_.body_received() > options.drain_limit) {
            keep = false;
        }
        if (keep && head.framing == body_framing::chunked && !body_ends_in_buffer()) keep = false;
    }
    if (!length_known && head.version_minor == 0) keep = false;
    keep_alive_ = keep;
    return keep;
}

bool connection::body_ends_in_buffer() const {
    // A copy of the parser reads ahead; the real one keeps the body for the handler.
    parser ahead = parser_;
    std::size_t at = begin_;
    std::uint64_t drained = 0;
    for (;;) {
        auto step = ahead.parse(std::string_view(buffer_.get() + at, end_ - at));
        if (!step || step->what == parser::event::need_more) return false;
        if (step->what == parser::event::end) return true;
        at += step->consumed;
        drained += step->body.size();
        if (drained > owner_.options().drain_limit) return false;
    }
}

void connection::append_connection_fields() {
    if (!keep_alive_) {
        out_.append("Connection: close\r\n");
        return;
    }
    if (parser_.head().version_minor == 0) out_.append("Connection: keep-alive\r\n");
    out_.append(owner_.keep_alive_line());
}

result<void> connection::send(const prepared_response& response) {
    if (response_.started) return misuse(errc::response_already_started);
    response_.started = response_.ended = true;
    decide_keep_alive(true);
    out_.append(response.head());
    out_.append(owner_.date_line());
    append_connection_fields();
    out_.append("\r\n");
    if (!response_.head_only) out_.append(response.body());
    return {};
}

result<void> connection::start(int status, std::span<const header_field> fields,
                               std::optional<std::uint64_t> content_length, bool fields_checked) {
    if (response_.started) return misuse(errc::response_already_started);
    // 1xx other than 101 are interim: informational().
    if (status < 200 && status != 101) return failure(std::errc::invalid_argument);
    if (status > 999) return failure(std::errc::invalid_argument);
    if (status == 101) return start_switch(fields);
    for (const auto& field : fields) {
        if (!acceptable_field(field, fields_checked)) return misuse(errc::invalid_response_field);
    }
    response_.started = true;
    const bool bodyless = bodyless_status(status);
    if (!content_length && !bodyless) {
        if (parser_.head().version_minor == 0) {
            response_.until_close = true;
        } else {
            response_.chunked = true;
        }
    }
    decide_keep_alive(content_length.has_value() || bodyless);
    out_.append(status_line(status));
    append_field_lines(out_, fields);
    out_.append(owner_.date_line());
    if (content_length && !bodyless) {
        // The line made whole first: one append, not three.
        constexpr std::string_view name = "Content-Length: ";
        char line[name.size() + 24];
        name.copy(line, name.size());
        char* end = std::to_chars(line + name.size(), line + sizeof line - 2, *content_length).ptr;
        *end++ = '\r';
        *end++ = '\n';
        out_.append(line, end);
        response_.remaining = *content_length;
    }
    if (response_.chunked) out_.append("Transfer-Encoding: chunked\r\n");
    append_connection_fields();
    out_.append("\r\n");
    return {};
}

io::task<result<void>> connection::write(std::string_view body) {
    using done = io::task<result<void>>;
    if (!response_.started || response_.ended)
        return done::ready(failure(std::errc::invalid_argument));
    if (broken_) return done::ready(failure(std::errc::connection_aborted));
    const bool framed_by_length = !response_.chunked && !response_.until_close;
    if (framed_by_length && body.size() > response_.remaining) {
        return done::ready(failure(std::errc::message_size));
    }
    if (framed_by_length) response_.remaining -= body.size();
    if (!response_.head_only && !body.empty()) {
        if (response_.chunked) {
            append_number(out_, body.size(), 16);
            out_.append("\r\n");
            out_.append(body);
            out_.append("\r\n");
        } else {
            out_.append(body);
        }
    }
    // Below the high-water mark the piece waits in the buffer: no wait, no coroutine.
    if (out_.size() < owner_.options().write_buffer) return done::ready();
    return flush_written();
}

io::task<result<void>> connection::flush_written() {
    // Named, not `if (!co_await flush())`: g++ 12 loses the awaiting coroutine when that
    // condition is all of a coroutine's state (see docs/design.md, "A g++ 12 trap").
    const bool flushed = co_await flush();
    if (!flushed) {
        broken_ = true;
        co_return failure(std::errc::connection_aborted);
    }
    co_return result<void>();
}

void connection::end() {
    if (!response_.started || response_.ended) return;
    response_.ended = true;
    if (response_.chunked && !response_.head_only) out_.append("0\r\n\r\n");
    // A response to HEAD carries the length of the body it does not send.
    if (!response_.chunked && !response_.until_close && !response_.head_only &&
        response_.remaining > 0) {
        broken_ = true;
    }
    if (response_.until_close) keep_alive_ = false;
}

void connection::reject(int status) {
    keep_alive_ = false;
    if (response_.started) {
        broken_ = true;  // part of a response is out: nothing else can be said
        return;
    }
    response_.started = response_.ended = true;
    const std::string_view reason = reason_phrase(status);
    out_.append(status_line(status));
    out_.append("Content-Type: text/plain\r\nContent-Length: ");
    append_number(out_, reason.size() + 1);
    out_.append("\r\n");
    out_.append(owner_.date_line());
    out_.append("Connection: close\r\n\r\n");
    out_.append(reason);
    out_.push_back('\n');
}

void connection::record_close(net::close_outcome outcome) {
    auto& c = owner_.counters();
    switch (outcome) {
        case net::close_outcome::time_wait_here:
            c.time_wait_here.add();
            break;
        case net::close_outcome::time_wait_peer:
            c.time_wait_peer.add();
            break;
        case net::close_outcome::reset:
            c.reset.add();
            break;
        case net::close_outcome::not_tcp:
            c.not_tcp.add();
            break;
    }
}

}  // namespace waitless::http::detail
