// How a server connection ends: by the reason and the close policy, so that the TIME_WAIT lands
// nowhere (a reset once all is acknowledged) or on the server's listening port, never on the
// ephemeral ports of a client it cannot trust to read before a reset.
#include <sys/socket.h>
#include <unistd.h>

#include "http/server_connection.hpp"
#include "waitless/net/close.hpp"
#include "waitless/net/io.hpp"
#include "waitless/net/options.hpp"

namespace waitless::http::detail {
namespace {

// Bytes a client may still send after the server's last response before it is cut off.
constexpr std::size_t discard_limit = 1024 * 1024;

const net::close_policy rst_unless_pending =
    net::abortive_close{net::on_pending_data::close_gracefully};

// What close() does once the last response is out.
enum class ending {
    fin_first,  // our FIN, then read to the client's FIN: the TIME_WAIT is ours
    peer_fin,   // wait for the client's FIN, then close: the TIME_WAIT is the client's
    reset,      // wait until all is acknowledged, then RST: no TIME_WAIT
};

}  // namespace

bool connection::resets_are_safe() const {
    if (!peer_) return true;  // a Unix socket: no TIME_WAIT, nothing to lose
    if (peer_->address.is_loopback()) return true;
    for (const auto& network : owner_.options().trusted_peers) {
        if (network.contains(peer_->address)) return true;
    }
    return false;
}

io::task<bool> connection::wait_for_peer_close() {
    // Whatever the client still sends is discarded; only its FIN (or the deadline) ends this.
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
        if (discarded > discard_limit) {
            disarm();
            co_return false;
        }
    }
}

io::task<bool> connection::wait_until_acknowledged() {
    // An RST discards what the client has not acknowledged yet: give the response time to
    // land. On loopback the acknowledgement is usually in before send() returns, so the first
    // look finds nothing in flight. Otherwise look again after 1, 2, 4, ... ms (a bounded
    // number of wake-ups within peer_close_wait), sooner when the client sends something.
    // What the client still sends is dropped: unread, it goes with the RST.
    const auto give_up = io::clock::now() + owner_.options().peer_close_wait;
    auto pause = std::chrono::microseconds(1000);
    std::size_t discarded = 0;
    for (;;) {
        const auto unsent = net::unacknowledged(socket_.native_handle());
        if (!unsent) co_return false;
        if (*unsent == 0) co_return true;
        const auto now = io::clock::now();
        if (interrupt_ == interrupt::forced || now >= give_up) co_return false;
        // Edge-triggered: read what is there, or its arrival would not wake the wait below.
        char sink[4096];
        while (discarded < discard_limit) {
            const auto n = net::recv_some(socket_.native_handle(), sink, sizeof sink, MSG_DONTWAIT);
            if (n <= 0) break;
            discarded += static_cast<std::size_t>(n);
        }
        if (!ensure_registered()) co_return false;
        watch_.readable = false;
        watch_.set_deadline(std::min(give_up, now + pause));
        (void)co_await watch_.readable_wait();
        watch_.clear_deadline();
        pause *= 2;
    }
}

io::task<void> connection::close(close_reason reason) {
    disarm();
    if (interrupt_ == interrupt::forced) {
        reason = close_reason::forced;
    } else {
        interrupt_ = interrupt::none;  // a timeout that ended the exchange does not end the close
    }
    if (!socket_.is_open()) co_return;
    if (tunneled_) {
        close_tunneled();
        co_return;
    }
    if (broken_) reason = close_reason::forced;  // a cut-off response: an RST says so plainly
    if (!peer_) {
        if (reason == close_reason::after_response) co_await flush();
        socket_.reset();
        record_close(net::close_outcome::not_tcp);
        co_return;
    }
    const auto policy = owner_.options().close_policy;
    const bool trusted = resets_are_safe();
    ending how_to_end = ending::fin_first;
    switch (policy) {
        case server_close_policy::automatic:
            how_to_end = trusted ? ending::reset : ending::fin_first;
            break;
        case server_close_policy::graceful:
            break;
        case server_close_policy::peer_first:
            how_to_end = ending::peer_fin;
            break;
        case server_close_policy::abortive:
            how_to_end = ending::reset;
            break;
    }
    // A response delimited by the close ends with a FIN under every policy: an RST would tell
    // the client it was cut, not complete.
    if (response_.until_close && reason == close_reason::after_response) {
        how_to_end = ending::fin_first;
    }

    bool peer_closed = false;
    bool fin_sent = false;
    bool client_fin_first = false;  // a client that half-closed after its request
    bool acknowledged = false;
    if (reason == close_reason::after_response) {
        // Our FIN must leave with the last bytes of the response: a client that reads them
        // and closes at once would otherwise send its FIN first and hold the TIME_WAIT on one
        // of its ephemeral ports. Sent with MSG_MORE, the tail waits for the shutdown and takes
        // the FIN.
        const bool fin_with_data = how_to_end == ending::fin_first;
        send_more_ = fin_with_data;
        const bool flushed = co_await flush();
        send_more_ = false;
        if (!flushed) {
            reason = close_reason::peer_gone;
        } else if (fin_with_data) {
            // Whose FIN goes first decides whose TIME_WAIT it is. Asked before the shutdown:
            // once both FINs are in, the socket only says "closed", whoever went first.
            const int fd = socket_.native_handle();
            client_fin_first = net::peer_has_closed(fd);
            fin_sent = ::shutdown(fd, SHUT_WR) == 0;
        }
    }
    bool closes_now = false;
    if (reason == close_reason::after_response) {
        switch (how_to_end) {
            case ending::fin_first:
                // A client that asked for the close and sent its request whole sends nothing
                // more: with nothing of it unread, close() sends no RST, and the kernel ends the
                // connection (nginx does the same). Otherwise read until the client's FIN, so
                // that unread bytes cannot turn the close into an RST that eats the response.
                closes_now = fin_sent && client_done_ && begin_ == end_ &&
                             net::unread(socket_.native_handle()).value_or(1) == 0;
                if (!closes_now) peer_closed = co_await wait_for_peer_close();
                break;
            case ending::peer_fin:
                peer_closed = co_await wait_for_peer_close();
                break;
            case ending::reset:
                acknowledged = co_await wait_until_acknowledged();
                break;
        }
    }
    const int fd = socket_.release();
    if (closes_now || (fin_sent && peer_closed)) {
        // Our FIN is out and nothing is unread (the client's FIN may have come too): close()
        // sends nothing more, and the TIME_WAIT is where the first FIN came from.
        allow_fin(fd);
        ::close(fd);
        record_close(client_fin_first ? net::close_outcome::time_wait_peer
                                      : net::close_outcome::time_wait_here);
        co_return;
    }
    if (acknowledged) {
        // All the client has is acknowledged: an RST, with no more questions to the kernel.
        record_close(close_with_reset(fd));
        co_return;
    }
    // Idle, broken and half-closed connections have nothing in flight: an RST (only when the
    // queues are empty) costs no one anything, except under graceful, which asks for FINs.
    net::close_policy how = net::graceful_close{};
    switch (reason) {
        // A client whose FIN came first would keep the TIME_WAIT after our FIN; after an RST
        // (nothing in flight) no one keeps one.
        case close_reason::peer_gone:
        case close_reason::idle:
        case close_reason::forced:
            if (policy != server_close_policy::graceful) how = rst_unless_pending;
            break;
        case close_reason::after_response:
            if (how_to_end == ending::reset || (how_to_end == ending::peer_fin && !peer_closed)) {
                how = rst_unless_pending;
            }
            break;
    }
    allow_fin(fd);  // the policy decides below, from the queues
    auto outcome = net::close_native(fd, how);
    if (!outcome) {
        owner_.counters().reset.add();
        co_return;
    }
    // After our shutdown() and no FIN from the client (the wait for it ended): the socket is
    // in FIN_WAIT, and the TIME_WAIT will be ours if the client's FIN comes. (An RST meanwhile:
    // no TIME_WAIT anywhere, as close_native reports.)
    record_close(fin_sent && *outcome != net::close_outcome::reset
                     ? (client_fin_first ? net::close_outcome::time_wait_peer
                                         : net::close_outcome::time_wait_here)
                     : *outcome);
}

net::close_outcome connection::close_with_reset(int fd) const {
    if (!linger_reset_) return net::close_with_reset(fd).value_or(net::close_outcome::reset);
    ::close(fd);  // SO_LINGER {1, 0} came from the listener
    return net::close_outcome::reset;
}

void connection::allow_fin(int fd) const {
    if (linger_reset_) (void)net::set_reset_on_close(fd, false);
}

}  // namespace waitless::http::detail
