// The exchange both client faces run on a pooled connection, and how the connection closes.
#include "client_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "client_idle.hpp"
#include "client_wire.hpp"
#include "waitless/http/error.hpp"
#include "waitless/net/error.hpp"
#include "waitless/net/io.hpp"
#include "waitless/net/stale.hpp"

namespace waitless::http::detail {

bool connection_lost(std::error_code ec) {
    const auto& category = ec.category();
    if (category != std::system_category() && category != std::generic_category()) return false;
    return ec.value() == ECONNRESET || ec.value() == EPIPE || ec.value() == ECONNABORTED;
}
namespace {

constexpr std::size_t initial_buffer = 32 * 1024;

// SO_LINGER {1, 0}: the close sends an RST, whatever the queues hold.
void reset_now(int fd) {
    const linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
}

bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

}  // namespace

client_connection::client_connection(net::socket s, const parser_limits& limits,
                                     pool::time_point now)
    : fd_(std::move(s)),
      parser_(parser_kind::response, limits),
      buffer_(std::make_unique_for_overwrite<char[]>(initial_buffer)),
      capacity_(initial_buffer),
      max_buffer_(std::max(initial_buffer, limits.max_head + limits.max_chunk_line + 64)),
      born_(now) {
    watch_.on_hangup(&client_connection::on_peer_hangup, this);
}

void client_connection::on_peer_hangup(void* self) {
    auto& c = *static_cast<client_connection*>(self);
    // Only a close while idle says something about the server's idle timeout.
    if (c.idle_since_ == pool::time_point{} || c.peer_closed()) return;
    c.peer_closed_at_ = pool::coarse_now();
    if (c.learner_ && !c.advertised_)
        c.learner_->closed(c.peer_closed_at_ - c.idle_since_, c.peer_closed_at_);
}

client_connection::~client_connection() {
    if (fd_) (void)close();
}

result<void> client_connection::attach(io::loop& l) {
    if (watch_.owner() == &l) return {};
    detach();
    return l.add(fd_.native_handle(), watch_);
}

void client_connection::detach() {
    if (io::loop* l = watch_.owner()) l->remove(fd_.native_handle(), watch_);
}

net::liveness client_connection::liveness(pool::time_point now) const {
    // Idle longer than this, the connection is asked directly: what epoll reported is as old
    // as this turn, and a server's idle close may be landing now. Busy connections come back
    // far sooner and cost no syscall; idle ones cost one at a rate that does not matter.
    constexpr auto ask_after = std::chrono::milliseconds(100);
    const bool watched = watch_.owner() != nullptr && watch_.owner() == io::loop::current();
    const bool quiet = !watch_.readable && !watch_.peer_shut_down && !watch_.failed;
    if (watched && quiet && now - idle_since_ < ask_after) return net::liveness::alive;
    return net::check_liveness(fd_.native_handle());
}

result<net::close_outcome> client_connection::close() {
    const int fd = fd_.release();
    if (fd < 0) return std::unexpected(make_error_code(net::errc::not_open));
    switch (mode_) {
        case close_mode::idle:
            return net::close_native(fd,
                                     net::abortive_close{net::on_pending_data::close_gracefully});
        case close_mode::peer_first:
            return net::close_native(fd, net::peer_first_close{{}, peer_close_wait_});
        case close_mode::reset:
            break;
    }
    reset_now(fd);
    return net::close_outcome::reset;
}

io::task<result<net::close_outcome>> client_connection::close_on_loop() {
    if (mode_ == close_mode::peer_first && watch_.owner() != nullptr && fd_) {
        // The server closes first (we asked, or it said so): read to its FIN, then close, so
        // the TIME_WAIT is the server's. Past the wait, close as an idle connection.
        watch_.set_deadline(std::chrono::steady_clock::now() + peer_close_wait_);
        std::array<char, 512> sink{};
        bool fin = false;
        for (;;) {
            const auto n = net::recv_some(fd_.native_handle(), sink.data(), sink.size(), 0);
            if (n == 0) {
                fin = true;
                break;
            }
            if (n > 0) continue;  // late bytes nobody will read
            if (errno == EINTR) continue;
            if (!would_block(errno)) break;
            watch_.readable = false;
            if (co_await watch_.wait(false)) break;
        }
        watch_.clear_deadline();
        if (fin) {
            auto done = net::close_native(fd_.release(), net::graceful_close{});
            if (done && *done == net::close_outcome::time_wait_here) {
                co_return net::close_outcome::time_wait_peer;  // its FIN came first
            }
            co_return done;
        }
        mode_ = close_mode::idle;
    }
    co_return close();
}

void client_connection::start_phase(pool::time_point deadline, client_errc kind) {
    phase_ = kind;
    watch_.set_deadline(deadline);
}

std::error_code client_connection::timed_out_or(std::error_code ec) const {
    return ec == std::errc::timed_out ? make_error_code(phase_) : ec;
}

io::task<exchange_outcome> client_connection::exchange(const exchange_plan& plan,
                                                       client_response& out) {
    // However the exchange ends (a sink or source may throw), its deadline goes.
    struct stand_down {
        client_connection& c;
        ~stand_down() { c.end_exchange(); }
    } guard{*this};
    exchange_outcome o;
    std::exception_ptr thrown;  // from a sink: the sender still ends before it goes on
    try {
        if (co_await send_request(plan, o)) o = co_await receive(plan, out);
    } catch (...) {
        thrown = std::current_exception();
    }
    co_await join_upload();
    if (thrown) std::rethrow_exception(thrown);
    co_return o;
}

io::task<exchange_outcome> client_connection::start_stream(const exchange_plan& plan,
                                                           client_response& head) {
    exchange_outcome o;
    if (co_await send_request(plan, o)) (void)co_await read_head(plan, o, head);
    if (o.error) {
        co_await join_upload();  // before a retry rewinds the source
        end_exchange();
    }
    co_return o;
}

void client_connection::end_exchange() { watch_.clear_deadline(); }

upgraded client_connection::hand_over() {
    end_exchange();
    detach();
    upgraded out;
    out.early.assign(buffer_.get() + begin_, end_ - begin_);
    begin_ = end_ = 0;
    out.socket = net::socket(fd_.release());
    return out;
}

io::task<std::error_code> client_connection::read_more(bool& eof) {
    if (begin_ == end_) begin_ = end_ = 0;
    if (end_ == capacity_) {
        if (begin_ > 0) {
            std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        } else {
            // A head (or chunk line) longer than the buffer: the parser bounds how far this goes.
            const std::size_t grown = std::min(capacity_ * 2, max_buffer_);
            if (grown == capacity_) co_return make_error_code(errc::head_too_large);
            auto bigger = std::make_unique_for_overwrite<char[]>(grown);
            std::memcpy(bigger.get(), buffer_.get(), end_);
            buffer_ = std::move(bigger);
            capacity_ = grown;
        }
    }
    for (;;) {
        if (!watch_.readable) {
            // The sender failed while nobody was reading (a source's error, a timeout).
            if (upload_.error && !connection_lost(upload_.error)) co_return upload_.error;
            if (auto ec = co_await watch_.wait(false)) co_return timed_out_or(ec);
        }
        const std::size_t room = capacity_ - end_;
        const auto n = net::recv_some(fd_.native_handle(), buffer_.get() + end_, room, 0);
        if (n > 0) {
            end_ += static_cast<std::size_t>(n);
            // Short: drained, unless the FIN's edge came already (then no edge will follow).
            if (static_cast<std::size_t>(n) < room && !watch_.peer_shut_down) {
                watch_.readable = false;
            }
            co_return std::error_code{};
        }
        if (n == 0) {
            eof = true;
            co_return std::error_code{};
        }
        if (errno == EINTR) continue;
        if (!would_block(errno)) co_return last_system_error();
        watch_.readable = false;
    }
}

io::task<exchange_outcome> client_connection::receive(const exchange_plan& plan,
                                                      client_response& out) {
    exchange_outcome o;
    if (!co_await read_head(plan, o, out)) co_return o;
    for (;;) {
        std::string_view piece;
        bool ended = false;
        if (!co_await read_body(plan, o, piece, ended)) co_return o;
        if (ended) {
            out.assign_trailers(trailers());
            co_return o;
        }
        if (plan.sink != nullptr) {
            if (auto ok = (*plan.sink)(piece); !ok) {
                o.error = ok.error();
                o.mode = close_mode::reset;
                co_return o;
            }
        } else {
            out.body.append(piece);
        }
    }
}

io::task<bool> client_connection::read_head(const exchange_plan& plan, exchange_outcome& o,
                                            client_response& out) {
    // While the body goes out the request's deadline holds; the head's starts once it is sent.
    if (!upload_.running) {
        start_phase(header_deadline(plan), client_errc::response_header_timeout);
    }
    parser_.expect_response_to_head(plan.request->method == "HEAD");
    eof_ = false;
    interim_ = false;
    reading_ = &plan;
    for (;;) {
        // next_event() written out: the head is rarely in yet, and this spares its frame.
        std::string_view ignored;
        parser::event what{};
        const auto polled_now = poll_event(o, ignored, what);
        if (polled_now == polled::failed) co_return false;
        if (polled_now == polled::need_read) {
            const auto before = end_;
            const auto ec = co_await read_more(eof_);
            if (!read_done(o, ec, before)) co_return false;
            continue;
        }
        if (what != parser::event::head) continue;  // the end of a 1xx
        const auto& head = parser_.head();
        out.assign_head(head);
        head_in_ = true;
        release_body();  // a 2xx gets it at once; an error stops it just below
        // An answer before the body is in: an error (413, 401) or a redirect says the server
        // does not want the rest (RFC 9112 9.3), so it is not sent, as curl does. A 2xx goes
        // on, even with a close (a server that streams back what it reads: an echo, a relay).
        if (upload_.running && head.status >= 300) stop_upload();
        if (head.framing == body_framing::content_length && head.content_length > plan.max_body) {
            o.error = make_error_code(client_errc::body_too_large);
            o.mode = close_mode::reset;
            co_return false;
        }
        start_phase(plan.deadline, client_errc::request_timeout);
        co_return true;
    }
}

io::task<bool> client_connection::read_body(const exchange_plan& plan, exchange_outcome& o,
                                            std::string_view& piece, bool& ended) {
    const auto what = co_await next_event(o, piece);
    if (!what) co_return false;
    co_return body_event(plan, o, *what, ended);
}

std::optional<bool> client_connection::read_body_now(const exchange_plan& plan, exchange_outcome& o,
                                                     std::string_view& piece, bool& ended) {
    parser::event what{};
    switch (poll_event(o, piece, what)) {
        case polled::event:
            return body_event(plan, o, what, ended);
        case polled::failed:
            return false;
        case polled::need_read:
            break;
    }
    return std::nullopt;
}

bool client_connection::body_event(const exchange_plan& plan, exchange_outcome& o,
                                   parser::event what, bool& ended) {
    if (what == parser::event::end) {
        finish_response(plan, o, eof_);
        ended = true;
        return true;
    }
    if (parser_.body_received() > plan.max_body) {
        o.error = make_error_code(client_errc::body_too_large);
        o.mode = close_mode::reset;
        return false;
    }
    return true;
}

io::task<std::optional<parser::event>> client_connection::next_event(exchange_outcome& o,
                                                                     std::string_view& body) {
    for (;;) {
        parser::event what{};
        switch (poll_event(o, body, what)) {
            case polled::event:
                co_return what;
            case polled::failed:
                co_return std::nullopt;
            case polled::need_read:
                break;
        }
        const auto before = end_;
        const auto ec = co_await read_more(eof_);
        if (!read_done(o, ec, before)) co_return std::nullopt;
    }
}

bool client_connection::read_done(exchange_outcome& o, std::error_code ec, std::size_t before) {
    if (ec) {
        // Reset or broken pipe before any byte: as good as closed, replayable.
        if (!o.response_started && !watch_.timed_out() && connection_lost(ec)) {
            ec = make_error_code(client_errc::peer_closed_before_response);
        }
        o.error = ec;
        o.mode = close_mode::reset;
        return false;
    }
    if (end_ > before) o.response_started = true;
    return true;
}

client_connection::polled client_connection::poll_event(exchange_outcome& o, std::string_view& body,
                                                        parser::event& what) {
    auto fail = [&](std::error_code ec) {
        o.error = ec;
        o.mode = close_mode::reset;
        return polled::failed;
    };
    auto give = [&](parser::event e) {
        what = e;
        return polled::event;
    };
    for (;;) {
        auto step = parser_.parse({buffer_.get() + begin_, end_ - begin_});
        if (!step) return fail(step.error());
        begin_ += step->consumed;
        switch (step->what) {
            case parser::event::head: {
                const auto& head = parser_.head();
                if (head.status == 101) {
                    // The connection speaks another protocol after this head: nothing more of
                    // it is parsed, and only a request that asked may have it.
                    if (reading_ == nullptr || !reading_->upgrade) {
                        return fail(client_errc::protocol_switch);
                    }
                    return give(parser::event::head);
                }
                if (head.status < 200) {
                    interim_ = true;  // a 1xx response: told to the caller, then skipped
                    if (head.status == 100) release_body();
                    if (reading_ != nullptr && reading_->request->on_interim) {
                        reading_->request->on_interim(head);
                    }
                    break;
                }
                return give(parser::event::head);
            }
            case parser::event::body:
                body = step->body;
                return give(parser::event::body);
            case parser::event::end:
                if (interim_) {
                    interim_ = false;
                    return give(parser::event::need_more);  // read_head() goes on
                }
                return give(parser::event::end);
            case parser::event::need_more: {
                if (!eof_) return polled::need_read;
                auto ended = parser_.finish();
                if (!ended) return fail(ended.error());
                if (*ended) continue;  // a close-delimited body: the next parse() ends it
                o.mode = close_mode::peer_first;
                o.error = o.response_started
                              ? make_error_code(errc::partial_message)
                              : make_error_code(client_errc::peer_closed_before_response);
                return polled::failed;
            }
        }
    }
}

void client_connection::finish_response(const exchange_plan& plan, exchange_outcome& o, bool eof) {
    const auto& head = parser_.head();
    o.error = {};
    o.reusable = false;
    if (!upload_.finished) {
        // The response ended before the request did: the connection is out of step.
        stop_upload();
        const bool server_closes = eof || !head.keep_alive || plan.close || plan.caller_close;
        o.mode = upload_.error   ? close_mode::reset
                 : server_closes ? close_mode::peer_first
                                 : close_mode::idle;
        return;
    }
    if (eof || !head.keep_alive || plan.close || plan.caller_close) {
        // The server closes (it said so, or we asked): its FIN comes first.
        o.mode = close_mode::peer_first;
        return;
    }
    if (begin_ < end_) {
        o.mode = close_mode::reset;  // bytes nobody asked for: out of step
        return;
    }
    begin_ = end_ = 0;
    o.mode = close_mode::idle;
    const auto now = pool::coarse_now();
    advertised_ = false;
    if (auto timeout = keep_alive_timeout(head)) {
        const auto advertised = std::chrono::duration_cast<pool::duration>(*timeout);
        if (learner_) learner_->advertised(advertised);
        const auto usable =
            advertised - std::chrono::duration_cast<pool::duration>(plan.keep_alive_margin);
        if (usable <= pool::duration::zero()) return;  // idle and drained: closed by RST
        reuse_deadline_ = now + usable;
        advertised_ = true;
    } else {
        reuse_deadline_ = pool::time_point::max();
    }
    idle_since_ = now;
    o.reusable = true;
}

}  // namespace waitless::http::detail
