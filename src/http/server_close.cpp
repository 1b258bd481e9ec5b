// How a server connection ends: by the reason and the close policy, so that a server host holds
// no TIME_WAIT unless the graceful policy asks for it.
#include <sys/socket.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "http/server_connection.hpp"
#include "waitless/net/close.hpp"

namespace waitless::http::detail {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
// Bytes a client may still send after the server's last response before it is cut off.
constexpr std::size_t discard_limit = 1024 * 1024;

const net::close_policy rst_unless_pending =
    net::abortive_close{net::on_pending_data::close_gracefully};

}  // namespace

asio::awaitable<bool> connection::wait_for_peer_close() {
    // Whatever the client still sends is discarded; only its FIN (or the deadline) ends this.
    const auto give_up = clock::now() + owner_.options().peer_close_wait;
    std::size_t discarded = 0;
    head_end_ = 0;
    for (;;) {
        begin_ = end_ = 0;
        const auto got = co_await read_more(timeout_kind::close_wait);
        if (got != read_status::ok) {
            disarm();
            co_return got == read_status::eof;
        }
        discarded += end_;
        if (discarded > discard_limit || clock::now() >= give_up) {
            disarm();
            co_return false;
        }
    }
}

asio::awaitable<void> connection::wait_until_acknowledged() {
    // An RST discards what the client has not acknowledged yet; give the response time to land.
    const auto give_up = clock::now() + owner_.options().peer_close_wait;
    asio::steady_timer pause(owner_.context());
    std::size_t discarded = 0;
    for (;;) {
        while (discarded < discard_limit) {
            const auto n = ::recv(socket_.native_handle(), buffer_.get(), capacity_, MSG_DONTWAIT);
            if (n <= 0) break;
            discarded += static_cast<std::size_t>(n);
        }
        const auto q = net::queued(socket_.native_handle());
        if (!q || q->unsent == 0 || clock::now() >= give_up) co_return;
        if (interrupt_ == interrupt::forced) co_return;
        pause.expires_after(std::chrono::milliseconds(1));
        co_await pause.async_wait(use_tuple);
    }
}

asio::awaitable<void> connection::close(close_reason reason) {
    disarm();
    if (interrupt_ == interrupt::forced) {
        reason = close_reason::forced;
    } else {
        interrupt_ = interrupt::none;  // a timeout that ended the exchange does not end the close
    }
    if (!socket_.is_open()) co_return;
    if (broken_) {
        reason = close_reason::forced;  // a cut-off response: an RST says so plainly
    } else if (reason == close_reason::after_response && !co_await flush()) {
        reason = close_reason::peer_gone;
    }
    if (!tcp_) {
        socket_.reset();
        record_close(static_cast<int>(net::close_outcome::not_tcp));
        co_return;
    }
    const auto policy = owner_.options().close_policy;
    bool peer_closed = false;
    bool fin_sent = false;
    if (reason == close_reason::after_response) {
        switch (policy) {
            case server_close_policy::graceful:
                // Our FIN first (the TIME_WAIT is ours), then read until the client's FIN so
                // that unread bytes cannot turn the close into an RST that eats the response.
                fin_sent = ::shutdown(socket_.native_handle(), SHUT_WR) == 0;
                co_await wait_for_peer_close();
                break;
            case server_close_policy::peer_first:
                peer_closed = co_await wait_for_peer_close();
                break;
            case server_close_policy::abortive:
                co_await wait_until_acknowledged();
                break;
        }
    }
    const int fd = socket_.release();
    net::close_policy how = net::graceful_close{};
    switch (reason) {
        case close_reason::peer_gone:
            break;
        case close_reason::idle:
        case close_reason::forced:
            if (policy != server_close_policy::graceful) how = rst_unless_pending;
            break;
        case close_reason::after_response:
            if (policy != server_close_policy::graceful && !peer_closed) how = rst_unless_pending;
            break;
    }
    auto outcome = net::close_native(fd, how);
    if (!outcome) {
        owner_.counters().reset.add();
        co_return;
    }
    // After shutdown() and the client's FIN the socket is already in TIME_WAIT, which the
    // state read before close() cannot show; the FIN went first from here.
    record_close(static_cast<int>(fin_sent ? net::close_outcome::time_wait_here : *outcome));
}

}  // namespace waitless::http::detail
