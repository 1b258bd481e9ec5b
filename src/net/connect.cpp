#include "waitless/net/connect.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <limits>
#include <vector>

#include "net/sockaddr.hpp"
#include "waitless/net/error.hpp"

namespace waitless::net {
namespace {

using clock = std::chrono::steady_clock;

// The sources usable towards remote: an IPv4 source cannot reach an IPv6 destination.
std::vector<const core::ip_address*> matching_sources(const endpoint& remote,
                                                      const connect_options& options) {
    std::vector<const core::ip_address*> out;
    for (const auto& source : options.source_addresses) {
        if (source.family == remote.address.family) out.push_back(&source);
    }
    return out;
}

// Milliseconds left until deadline for poll(); -1 (forever) without a deadline.
int poll_timeout(const std::optional<clock::time_point>& deadline) {
    if (!deadline) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
    if (left.count() <= 0) return 0;
    return static_cast<int>(
        std::min<std::chrono::milliseconds::rep>(left.count(), std::numeric_limits<int>::max()));
}

// Waits for a non-blocking connect() in progress to finish.
result<void> finish_connect(int fd, const std::optional<clock::time_point>& deadline) {
    pollfd p{fd, POLLOUT, 0};
    for (;;) {
        const int ready = ::poll(&p, 1, poll_timeout(deadline));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return std::unexpected(last_system_error());
        if (ready == 0) return std::unexpected(make_error_code(errc::connect_timeout));
        break;
    }
    return connect_error(fd);
}

}  // namespace

result<socket> open_for_connect(const endpoint& remote, const connect_options& options,
                                std::size_t source_index) {
    const int family = remote.address.family == AF_INET6 ? AF_INET6 : AF_INET;
    socket s{::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (!s) return std::unexpected(last_system_error());
    if (auto r = apply_connect_options(s.native_handle(), options); !r) {
        return std::unexpected(r.error());
    }
    if (!options.source_addresses.empty()) {
        const auto sources = matching_sources(remote, options);
        if (sources.empty()) return std::unexpected(make_error_code(errc::address_mismatch));
        const auto& source = *sources[source_index % sources.size()];
        if (auto r = bind_source_address(s.native_handle(), source); !r) {
            return std::unexpected(r.error());
        }
    }
    return s;
}

result<bool> start_connect(const socket& s, const endpoint& remote) {
    const auto address = detail::to_socket_address(remote);
    for (;;) {
        if (::connect(s.native_handle(), address.get(), address.length) == 0) return true;
        if (errno == EINTR) continue;
        if (errno == EINPROGRESS) return false;
        return std::unexpected(last_system_error());
    }
}

result<void> connect_error(int fd) {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        return std::unexpected(last_system_error());
    }
    if (error != 0) return std::unexpected(std::error_code(error, std::system_category()));
    return {};
}

result<socket> connect(const endpoint& remote, const connect_options& options,
                       std::size_t first_source) {
    std::optional<clock::time_point> deadline;
    if (options.timeout.count() > 0) deadline = clock::now() + options.timeout;
    const std::size_t attempts = std::max<std::size_t>(1, matching_sources(remote, options).size());
    const auto address = detail::to_socket_address(remote);

    std::error_code last_error;
    for (std::size_t attempt = 0; attempt < attempts; ++attempt) {
        auto s = open_for_connect(remote, options, first_source + attempt);
        if (!s) return s;
        int rc = ::connect(s->native_handle(), address.get(), address.length);
        if (rc != 0 && errno == EINPROGRESS) {
            auto done = finish_connect(s->native_handle(), deadline);
            if (!done) return std::unexpected(done.error());
            rc = 0;
        }
        if (rc != 0) {
            last_error = last_system_error();
            // This source has no free port towards remote; another source has a fresh range.
            if (last_error == std::errc::address_not_available) continue;
            return std::unexpected(last_error);
        }
        if (!options.non_blocking) {
            if (auto r = set_non_blocking(s->native_handle(), false); !r) {
                return std::unexpected(r.error());
            }
        }
        return s;
    }
    return std::unexpected(last_error);
}

result<socket> connector::connect(const endpoint& remote) {
    return net::connect(remote, options_, next_source_.fetch_add(1, std::memory_order_relaxed));
}

result<socket> connect_unix(std::string_view path, std::chrono::milliseconds timeout) {
    const auto address = detail::to_unix_address(path);
    if (!address) return std::unexpected(address.error());
    socket s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (!s) return std::unexpected(last_system_error());
    // A Unix connect() waits for room in the listener's backlog for up to SO_SNDTIMEO, then
    // fails with EAGAIN; there is no in-progress state to poll as with TCP.
    const auto set_send_timeout = [&](std::chrono::milliseconds t) {
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t).count();
        timeval tv{static_cast<time_t>(micros / 1'000'000),
                   static_cast<suseconds_t>(micros % 1'000'000)};
        return detail::check(
            ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
    };
    if (auto r = set_send_timeout(timeout); !r) return std::unexpected(r.error());
    int rc = 0;
    do {
        rc = ::connect(s.native_handle(), address->get(), address->length);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno == EAGAIN) return std::unexpected(make_error_code(errc::connect_timeout));
        return std::unexpected(last_system_error());
    }
    if (auto r = set_send_timeout(std::chrono::milliseconds{0}); !r) {
        return std::unexpected(r.error());
    }
    return s;
}

}  // namespace waitless::net
