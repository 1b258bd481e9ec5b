// The exchange both client faces run on a pooled connection, and how the connection closes.
#include "client_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "client_wire.hpp"
#include "waitless/http/error.hpp"
#include "waitless/net/error.hpp"

namespace waitless::http::detail {

bool connection_lost(std::error_code ec) {
    const auto& category = ec.category();
    if (category != std::system_category() && category != std::generic_category() &&
        category != asio::system_category()) {
        return false;
    }
    return ec.value() == ECONNRESET || ec.value() == EPIPE || ec.value() == ECONNABORTED;
}
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t initial_buffer = 32 * 1024;
constexpr std::size_t inline_body = 8 * 1024;  // bodies up to this go out in the head's write

void arm(const std::shared_ptr<watchdog>& w);

void on_timer(const std::shared_ptr<watchdog>& w, std::error_code ec) {
    if (ec) return;  // superseded by an earlier deadline, or the timer is gone
    w->armed = false;
    if (!w->active) return;
    if (std::chrono::steady_clock::now() >= w->deadline) {
        w->fired = true;
        std::error_code ignored;
        w->socket->cancel(ignored);
        return;
    }
    arm(w);
}

void arm(const std::shared_ptr<watchdog>& w) {
    w->timer->expires_at(w->deadline);
    w->armed_at = w->deadline;
    w->armed = true;
    w->timer->async_wait([w](std::error_code ec) { on_timer(w, ec); });
}

// SO_LINGER {1, 0}: the close sends an RST, whatever the queues hold.
void reset_now(int fd) {
    const linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
}

}  // namespace

client_connection::client_connection(net::socket s, int family, const parser_limits& limits,
                                     pool::time_point now)
    : fd_(std::move(s)),
      family_(family),
      parser_(parser_kind::response, limits),
      buffer_(std::make_unique_for_overwrite<char[]>(initial_buffer)),
      capacity_(initial_buffer),
      max_buffer_(std::max(initial_buffer, limits.max_head + limits.max_chunk_line + 64)),
      born_(now) {}

client_connection::~client_connection() {
    if (socket_ || fd_) (void)close();
}

int client_connection::native_handle() {
    return socket_ ? socket_->native_handle() : fd_.native_handle();
}

void client_connection::bind(const asio::any_io_executor& ex) {
    if (socket_ && bound_ == ex) return;
    unbind();
    const auto protocol = family_ == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4();
    socket_.emplace(ex);
    std::error_code ec;
    socket_->assign(protocol, fd_.release(), ec);
    WAITLESS_ASSERT(!ec);
    timer_.emplace(ex);
    watch_ = std::make_shared<watchdog>();
    watch_->socket = &*socket_;
    watch_->timer = &*timer_;
    bound_ = ex;
}

void client_connection::unbind() {
    if (!socket_) return;
    std::error_code ec;
    fd_.reset(socket_->release(ec));
    socket_.reset();
    timer_.reset();  // a pending wait completes as aborted and touches nothing of ours
    watch_.reset();
    bound_ = {};
}

result<net::close_outcome> client_connection::close() {
    unbind();
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

void client_connection::start_phase(pool::time_point deadline, client_errc kind) {
    auto& w = *watch_;
    w.deadline = deadline;
    w.kind = kind;
    w.active = true;
    if (!w.armed || deadline < w.armed_at) arm(watch_);
}

std::error_code client_connection::timed_out_or(std::error_code ec) const {
    return watch_->fired ? make_error_code(watch_->kind) : ec;
}

asio::awaitable<exchange_outcome> client_connection::exchange(const exchange_plan& plan,
                                                              client_response& out) {
    WAITLESS_ASSERT(socket_.has_value());
    ++uses_;
    auto& w = *watch_;
    w.fired = false;
    // One timer wait per exchange, at the earliest the head could be late; when it fires with
    // the phase's deadline moved on, it waits again (see on_timer).
    start_phase(
        std::min(plan.deadline, pool::add_saturated(pool::coarse_now(), plan.header_timeout)),
        client_errc::request_timeout);
    // However the exchange ends (a sink or source may throw), the watchdog stands down.
    // Nothing may keep the event loop busy after it either (io_context::run() returns when its
    // work is done); the aborted wait touches nothing.
    struct stand_down {
        client_connection* c;
        ~stand_down() {
            auto& wd = *c->watch_;
            wd.active = false;
            if (wd.armed) {
                wd.armed = false;
                c->timer_->cancel();
            }
        }
    } guard{this};
    exchange_outcome o;
    if (auto ec = co_await send(plan)) {
        o.error = ec;
        // The server may have answered (413 and close) before the whole request went out: its
        // bytes wait unread, so it saw the request, and a replay would send it twice.
        char byte = 0;
        if (::recv(native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
            o.response_started = true;
        }
    } else {
        o = co_await receive(plan, out);
    }
    co_return o;
}

asio::awaitable<std::error_code> client_connection::write(std::string_view a, std::string_view b,
                                                          std::string_view c) {
    if (watch_->fired) co_return make_error_code(watch_->kind);
    const std::array<asio::const_buffer, 3> buffers{asio::buffer(a), asio::buffer(b),
                                                    asio::buffer(c)};
    auto [ec, n] = co_await asio::async_write(*socket_, buffers, use_tuple);
    co_return timed_out_or(ec);
}

asio::awaitable<std::error_code> client_connection::send(const exchange_plan& plan) {
    const client_request& r = *plan.request;
    start_phase(plan.deadline, client_errc::request_timeout);  // later than armed: no re-arm
    request_framing framing = request_framing::none;
    std::uint64_t length = 0;
    if (r.source) {
        framing = r.source->length ? request_framing::content_length : request_framing::chunked;
        length = r.source->length.value_or(0);
    } else if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
        framing = request_framing::content_length;
        length = r.body.size();
    }
    head_.clear();
    format_request_head(head_, r.method, plan.target, plan.host, r.headers, plan.add_host, framing,
                        length, plan.close);
    if (!r.source) {
        if (r.body.size() <= inline_body) {
            head_.append(r.body);
            co_return co_await write(head_);
        }
        co_return co_await write(head_, r.body);
    }
    if (auto ec = co_await write(head_)) co_return ec;
    std::uint64_t sent = 0;
    for (;;) {
        auto piece = r.source->next();
        if (!piece) co_return piece.error();
        if (piece->empty()) break;
        sent += piece->size();
        if (framing == request_framing::content_length) {
            if (sent > length) co_return make_error_code(client_errc::body_length_mismatch);
            if (auto ec = co_await write(*piece)) co_return ec;
            continue;
        }
        std::array<char, 20> size{};
        auto [end, ec] =
            std::to_chars(size.data(), size.data() + size.size() - 2, piece->size(), 16);
        *end++ = '\r';
        *end++ = '\n';
        if (auto wec = co_await write({size.data(), static_cast<std::size_t>(end - size.data())},
                                      *piece, "\r\n")) {
            co_return wec;
        }
    }
    if (framing == request_framing::content_length) {
        if (sent != length) co_return make_error_code(client_errc::body_length_mismatch);
        co_return std::error_code{};
    }
    co_return co_await write("0\r\n\r\n");
}

asio::awaitable<std::error_code> client_connection::read_more(bool& eof) {
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
    if (watch_->fired) co_return make_error_code(watch_->kind);
    auto [ec, n] = co_await socket_->async_read_some(
        asio::buffer(buffer_.get() + end_, capacity_ - end_), use_tuple);
    end_ += n;
    if (ec == asio::error::eof) {
        eof = true;
        co_return std::error_code{};
    }
    co_return timed_out_or(ec);
}

asio::awaitable<exchange_outcome> client_connection::receive(const exchange_plan& plan,
                                                             client_response& out) {
    exchange_outcome o;
    const client_request& r = *plan.request;
    const auto header_deadline =
        std::min(plan.deadline, pool::add_saturated(pool::coarse_now(), plan.header_timeout));
    start_phase(header_deadline, client_errc::response_header_timeout);
    parser_.expect_response_to_head(r.method == "HEAD");
    bool eof = false;
    bool interim = false;  // inside a 1xx response, which is skipped
    auto fail = [&](std::error_code ec) {
        o.error = ec;
        o.mode = close_mode::reset;
        return o;
    };
    for (;;) {
        auto step = parser_.parse({buffer_.get() + begin_, end_ - begin_});
        if (!step) co_return fail(step.error());
        begin_ += step->consumed;
        switch (step->what) {
            case parser::event::head: {
                const auto& head = parser_.head();
                if (head.status == 101) co_return fail(client_errc::protocol_switch);
                if (head.status < 200) {
                    interim = true;
                    break;
                }
                out.assign_head(head);
                if (head.framing == body_framing::content_length &&
                    head.content_length > plan.max_body) {
                    co_return fail(client_errc::body_too_large);
                }
                start_phase(plan.deadline, client_errc::request_timeout);
                break;
            }
            case parser::event::body:
                if (parser_.body_received() > plan.max_body) {
                    co_return fail(client_errc::body_too_large);
                }
                if (plan.sink != nullptr) {
                    if (auto ok = (*plan.sink)(step->body); !ok) co_return fail(ok.error());
                } else {
                    out.body.append(step->body);
                }
                break;
            case parser::event::end:
                if (interim) {
                    interim = false;
                    break;
                }
                finish_response(plan, o, eof);
                co_return o;
            case parser::event::need_more: {
                if (eof) {
                    auto ended = parser_.finish();
                    if (!ended) co_return fail(ended.error());
                    if (*ended) continue;  // a close-delimited body: the next parse() ends it
                    o.mode = close_mode::peer_first;
                    o.error = o.response_started
                                  ? make_error_code(errc::partial_message)
                                  : make_error_code(client_errc::peer_closed_before_response);
                    co_return o;
                }
                const auto before = end_;
                if (auto ec = co_await read_more(eof)) {
                    // Reset or broken pipe before any byte: as good as closed, replayable.
                    if (!o.response_started && !watch_->fired && connection_lost(ec)) {
                        ec = make_error_code(client_errc::peer_closed_before_response);
                    }
                    co_return fail(ec);
                }
                if (end_ > before) o.response_started = true;
                break;
            }
        }
    }
}

void client_connection::finish_response(const exchange_plan& plan, exchange_outcome& o, bool eof) {
    const auto& head = parser_.head();
    o.error = {};
    o.reusable = false;
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
    if (auto timeout = keep_alive_timeout(head)) {
        const auto usable = std::chrono::duration_cast<pool::duration>(*timeout) -
                            std::chrono::duration_cast<pool::duration>(plan.keep_alive_margin);
        if (usable <= pool::duration::zero()) return;  // idle and drained: closed by RST
        reuse_deadline_ = pool::coarse_now() + usable;
    } else {
        reuse_deadline_ = pool::time_point::max();
    }
    o.reusable = true;
}

}  // namespace waitless::http::detail
