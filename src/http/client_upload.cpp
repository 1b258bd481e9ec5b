// The sending half of a client exchange: the request head, then the body from a coroutine of its
// own that runs while the response is read (full duplex), and stops when the server answered
// early (an error status or a close before the body was in) or the exchange ended.
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <charconv>

#include "client_connection.hpp"
#include "client_wire.hpp"
#include "waitless/net/io.hpp"

namespace waitless::http::detail {
namespace {

constexpr std::size_t inline_body = 8 * 1024;  // bodies up to this go out in the head's write
// How long a body announced with Expect: 100-continue waits for the 100 (or the final head)
// before it goes anyway, as RFC 9110 10.1.1 lets a client do (curl waits as long).
constexpr auto continue_wait = std::chrono::seconds(1);

std::error_code stopped() { return std::make_error_code(std::errc::operation_canceled); }

}  // namespace

io::task<std::error_code> client_connection::write(std::string_view a, std::string_view b,
                                                   std::string_view c) {
    std::array<iovec, 3> iov{};
    std::size_t count = 0;
    for (std::string_view piece : {a, b, c}) {
        if (!piece.empty()) {
            iov[count++] = {const_cast<char*>(piece.data()), piece.size()};
        }
    }
    std::size_t first = 0;
    while (first < count) {
        if (upload_.stop) co_return stopped();
        if (!watch_.writable) {
            if (auto ec = co_await watch_.wait(true)) co_return timed_out_or(ec);
            continue;  // look at stop again: the reader may have run meanwhile
        }
        msghdr m{};
        m.msg_iov = &iov[first];
        m.msg_iovlen = count - first;
        const auto n = net::send_message(fd_.native_handle(), &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) co_return last_system_error();
            watch_.writable = false;
            continue;
        }
        auto left = static_cast<std::size_t>(n);
        while (first < count && left >= iov[first].iov_len) left -= iov[first++].iov_len;
        if (first < count) {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
    }
    co_return std::error_code{};
}

std::size_t client_connection::send_now(std::string_view data, std::error_code& ec) {
    while (watch_.writable) {
        const auto n = net::send_some(fd_.native_handle(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ec = last_system_error();
            return 0;
        }
        watch_.writable = false;
    }
    return 0;
}

io::task<bool> client_connection::send_request(const exchange_plan& plan, exchange_outcome& o) {
    WAITLESS_ASSERT(watch_.owner() != nullptr);
    WAITLESS_ASSERT(!upload_.running);
    ++uses_;
    idle_since_ = {};
    upload_ = {};
    head_in_ = false;
    start_phase(plan.deadline, client_errc::request_timeout);  // later than armed: no re-arm
    const bool body_left = format_head(plan);
    // Most heads go out in one send, without a coroutine frame.
    std::error_code ec;
    const std::size_t sent = send_now(head_, ec);
    if (!ec && sent < head_.size()) return send_rest(plan, o, sent, body_left);
    return io::task<bool>::ready(head_sent(plan, o, ec, body_left));
}

io::task<bool> client_connection::send_rest(const exchange_plan& plan, exchange_outcome& o,
                                            std::size_t sent, bool body_left) {
    const auto ec = co_await write(std::string_view(head_).substr(sent));
    co_return head_sent(plan, o, ec, body_left);
}

bool client_connection::head_sent(const exchange_plan& plan, exchange_outcome& o,
                                  std::error_code ec, bool body_left) {
    if (ec) {
        o.error = ec;
        o.mode = close_mode::reset;
        // The server may have answered (413 and close) before the whole request went out: its
        // bytes wait unread, so it saw the request, and a replay would send it twice.
        char byte = 0;
        if (net::recv_some(fd_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
            o.response_started = true;
        }
        return false;
    }
    if (!body_left) {
        upload_.finished = true;
        return true;
    }
    // The body goes out beside the reading: it runs at once, up to its first wait.
    if (plan.expect_continue) {
        continue_alarm_.emplace(*watch_.owner());
    } else {
        continue_alarm_.reset();
    }
    upload_.running = true;
    run_upload(*this, plan);
    return true;
}

bool client_connection::format_head(const exchange_plan& plan) {
    const client_request& r = *plan.request;
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
    // A body that waits for 100 Continue never goes out with the head.
    const bool inline_ok = !r.source && r.body.size() <= inline_body && !plan.expect_continue;
    if (inline_ok) head_.append(r.body);
    return !inline_ok && (r.source || !r.body.empty());
}

io::task<std::error_code> client_connection::send_body(const exchange_plan& plan) {
    const client_request& r = *plan.request;
    if (continue_alarm_) {
        (void)co_await continue_alarm_->wait_for(continue_wait);
        if (upload_.stop) co_return stopped();
    }
    if (!r.source) co_return co_await write(r.body);
    const bool chunked = !r.source->length;
    const std::uint64_t length = r.source->length.value_or(0);
    std::uint64_t sent = 0;
    for (;;) {
        // Asked for the next piece only once the last one is written (backpressure), and not
        // at all once the server answered early.
        if (upload_.stop) co_return stopped();
        auto piece = r.source->pull ? co_await r.source->pull() : r.source->next();
        if (upload_.stop) co_return stopped();
        if (!piece) co_return piece.error();
        if (piece->empty()) break;
        sent += piece->size();
        if (!chunked) {
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
    if (!chunked) {
        if (sent != length) co_return make_error_code(client_errc::body_length_mismatch);
        co_return std::error_code{};
    }
    if (!r.source->trailers) co_return co_await write("0\r\n\r\n");
    const auto trailers = r.source->trailers();
    if (!check_fields(trailers)) co_return make_error_code(client_errc::invalid_request);
    std::string last = "0\r\n";
    append_field_lines(last, trailers);
    last.append("\r\n");
    co_return co_await write(last);
}

io::detail::detached client_connection::run_upload(client_connection& c,
                                                   const exchange_plan& plan) {
    std::error_code ec;
    try {
        ec = co_await c.send_body(plan);
    } catch (...) {
        c.upload_.thrown = std::current_exception();
        ec = stopped();
    }
    c.upload_ended(plan, ec);
    if (auto last = std::exchange(c.upload_.orphaned, nullptr)) {
        last();  // may destroy c
        co_return;
    }
    if (auto joiner = std::exchange(c.upload_.joiner, {})) joiner.resume();
}

void client_connection::upload_ended(const exchange_plan& plan, std::error_code ec) {
    upload_.running = false;
    if (!ec) {
        upload_.finished = true;
        // The request is all sent: from now on the response head has its own timeout.
        if (!head_in_) start_phase(header_deadline(plan), client_errc::response_header_timeout);
        return;
    }
    if (upload_.stop && !upload_.thrown) return;  // asked to stop
    upload_.error = ec;
    // A broken connection is for the reader to find (the response may be in already); a
    // failed source, a timeout or a throw ends the exchange.
    if (!connection_lost(ec)) watch_.cancel(ec);
}

pool::time_point client_connection::header_deadline(const exchange_plan& plan) const {
    return std::min(plan.deadline, pool::add_saturated(pool::coarse_now(), plan.header_timeout));
}

void client_connection::stop_upload() {
    if (!upload_.running || upload_.stop) return;
    release_body();  // a sender waiting for 100 Continue ends at once
    upload_.stop = true;
    // Only the writer can be waiting here: whoever stops the sender is the reading side.
    watch_.cancel(stopped());
}

struct client_connection::upload_end {
    client_connection& c;
    bool await_ready() const noexcept { return !c.upload_.running; }
    void await_suspend(std::coroutine_handle<> h) noexcept { c.upload_.joiner = h; }
    void await_resume() const noexcept {}
};

io::task<void> client_connection::join_upload() {
    if (upload_.running) {
        stop_upload();
        co_await upload_end{*this};
    }
    rethrow_upload();
}

void client_connection::rethrow_upload() {
    if (auto thrown = std::exchange(upload_.thrown, nullptr)) std::rethrow_exception(thrown);
}

void client_connection::orphan_upload(std::move_only_function<void()> last) {
    if (!upload_.running) {
        last();
        return;
    }
    stop_upload();
    upload_.orphaned = std::move(last);
}

}  // namespace waitless::http::detail
