#include "waitless/net/close.hpp"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net/sockaddr.hpp"
#include "waitless/net/error.hpp"
#include "waitless/net/options.hpp"

namespace waitless::net {
namespace {

using clock = std::chrono::steady_clock;

bool is_tcp(int fd) {
    int protocol = 0;
    socklen_t length = sizeof protocol;
    return ::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) == 0 &&
           protocol == IPPROTO_TCP;
}

// The state from TCP_INFO, numbered as in include/net/tcp_states.h; 0 when unknown.
int tcp_state(int fd) {
    tcp_info info{};
    socklen_t length = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return 0;
    return info.tcpi_state;
}

result<close_outcome> finish(int fd, close_outcome outcome) {
    if (::close(fd) != 0 && errno != EINTR) return std::unexpected(last_system_error());
    return outcome;
}

// Where the TIME_WAIT of a FIN close will be, judged from the state just before close().
close_outcome graceful_outcome(int fd) {
    if (!is_tcp(fd)) return close_outcome::not_tcp;
    // Unread bytes make tcp_close() send an RST instead of a FIN (RFC 2525, TCPAbortOnClose).
    if (const auto q = queued(fd); q && q->unread > 0) return close_outcome::reset;
    switch (tcp_state(fd)) {
        case TCP_ESTABLISHED:
        case TCP_FIN_WAIT1:  // after shutdown(SHUT_WR): our FIN went first
        case TCP_FIN_WAIT2:
        case TCP_CLOSING:
            return close_outcome::time_wait_here;
        case TCP_CLOSE_WAIT:
        case TCP_LAST_ACK:
            return close_outcome::time_wait_peer;
        default:
            return close_outcome::reset;  // reset already, never connected, or a listener
    }
}

result<close_outcome> close_gracefully(int fd) { return finish(fd, graceful_outcome(fd)); }

result<close_outcome> close_abortively(int fd, on_pending_data if_pending) {
    const auto q = queued(fd);
    if (!q) {
        ::close(fd);
        return std::unexpected(q.error());
    }
    if (!q->empty()) {
        if (if_pending == on_pending_data::refuse) {
            return std::unexpected(make_error_code(errc::data_would_be_lost));
        }
        return close_gracefully(fd);
    }
    if (!is_tcp(fd)) return finish(fd, close_outcome::not_tcp);
    return close_with_reset(fd);
}

// Waits up to `wait` for the peer's FIN (or an RST); data without a FIN does not wake it.
bool wait_for_peer_close(int fd, std::chrono::milliseconds wait) {
    const auto deadline = clock::now() + wait;
    pollfd p{fd, POLLRDHUP, 0};
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
        const int ready = ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
        if (ready < 0 && errno == EINTR) continue;
        return ready > 0;
    }
}

result<close_outcome> close_peer_first(int fd, const peer_first_close& policy) {
    if (!is_tcp(fd)) return close_gracefully(fd);
    bool peer_closed = peer_has_closed(fd);
    if (!peer_closed) {
        // Without request_close the protocol has asked already (e.g. its last request said
        // Connection: close); a failed request means no FIN is coming, so no wait.
        const bool asked = !policy.request_close || policy.request_close(fd).has_value();
        if (asked) peer_closed = wait_for_peer_close(fd, policy.wait);
    }
    if (peer_closed) return close_gracefully(fd);
    // The peer did not close in time: an RST keeps TIME_WAIT off both sides, unless it would
    // discard bytes; then a FIN, and this side holds the TIME_WAIT after all.
    return close_abortively(fd, on_pending_data::close_gracefully);
}

}  // namespace

result<std::size_t> unacknowledged(int fd) {
    int unsent = 0;
    if (::ioctl(fd, SIOCOUTQ, &unsent) != 0) return std::unexpected(last_system_error());
    return static_cast<std::size_t>(unsent);
}

result<std::size_t> unread(int fd) {
    int bytes = 0;
    if (::ioctl(fd, SIOCINQ, &bytes) != 0) return std::unexpected(last_system_error());
    return static_cast<std::size_t>(bytes);
}

result<queued_bytes> queued(int fd) {
    const auto unsent = unacknowledged(fd);
    if (!unsent) return std::unexpected(unsent.error());
    const auto received = unread(fd);
    if (!received) return std::unexpected(received.error());
    return queued_bytes{*unsent, *received};
}

result<close_outcome> close_with_reset(int fd) {
    if (auto r = set_reset_on_close(fd, true); !r) {
        ::close(fd);
        return std::unexpected(r.error());
    }
    return finish(fd, close_outcome::reset);
}

bool peer_has_closed(int fd) {
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

result<close_outcome> close_native(int fd, const close_policy& policy) {
    if (fd < 0) return std::unexpected(make_error_code(errc::not_open));
    struct visitor {
        int fd;
        result<close_outcome> operator()(const graceful_close&) const {
            return close_gracefully(fd);
        }
        result<close_outcome> operator()(const abortive_close& p) const {
            return close_abortively(fd, p.if_pending);
        }
        result<close_outcome> operator()(const peer_first_close& p) const {
            return close_peer_first(fd, p);
        }
    };
    return std::visit(visitor{fd}, policy);
}

result<close_outcome> close(socket& s, const close_policy& policy) {
    if (!s) return std::unexpected(make_error_code(errc::not_open));
    auto r = close_native(s.native_handle(), policy);
    if (r || r.error() != errc::data_would_be_lost) (void)s.release();
    return r;
}

result<void> arm_abortive_close(int fd) {
    const auto q = queued(fd);
    if (!q) return std::unexpected(q.error());
    if (!q->empty()) return std::unexpected(make_error_code(errc::data_would_be_lost));
    return set_reset_on_close(fd, true);
}

}  // namespace waitless::net
