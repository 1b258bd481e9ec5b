#include "waitless/net/listen.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>

#include "net/sockaddr.hpp"
#include "waitless/net/connect.hpp"
#include "waitless/net/error.hpp"

namespace waitless::net {
namespace {

result<void> set_flag(int fd, int name, bool on) {
    const int value = on ? 1 : 0;
    return detail::check(::setsockopt(fd, SOL_SOCKET, name, &value, sizeof value));
}

result<socket> bind_and_listen(socket s, const detail::socket_address& address,
                               const listen_options& options) {
    if (auto r = detail::check(::bind(s.native_handle(), address.get(), address.length)); !r) {
        return std::unexpected(r.error());
    }
    if (auto r = detail::check(::listen(s.native_handle(), options.backlog)); !r) {
        return std::unexpected(r.error());
    }
    return s;
}

int socket_flags(const listen_options& options) {
    return SOCK_STREAM | SOCK_CLOEXEC | (options.non_blocking ? SOCK_NONBLOCK : 0);
}

}  // namespace

result<socket> listen(const endpoint& local, const listen_options& options) {
    const int family = local.address.family == AF_INET6 ? AF_INET6 : AF_INET;
    socket s{::socket(family, socket_flags(options), 0)};
    if (!s) return std::unexpected(last_system_error());
    if (auto r = set_flag(s.native_handle(), SO_REUSEADDR, options.reuse_address); !r) {
        return std::unexpected(r.error());
    }
    if (options.reuse_port) {
        if (auto r = set_flag(s.native_handle(), SO_REUSEPORT, true); !r) {
            return std::unexpected(r.error());
        }
    }
    if (options.nodelay) {
        if (auto r = set_nodelay(s.native_handle(), true); !r) return std::unexpected(r.error());
    }
    if (options.reset_on_close) {
        if (auto r = set_reset_on_close(s.native_handle(), true); !r) {
            return std::unexpected(r.error());
        }
    }
    if (options.defer_accept.count() > 0) {
        const int seconds = static_cast<int>(options.defer_accept.count());
        if (auto r = detail::check(::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT,
                                                &seconds, sizeof seconds));
            !r) {
            return std::unexpected(r.error());
        }
    }
    return bind_and_listen(std::move(s), detail::to_socket_address(local), options);
}

result<socket> listen_unix(std::string_view path, const listen_options& options) {
    const auto address = detail::to_unix_address(path);
    if (!address) return std::unexpected(address.error());
    socket s{::socket(AF_UNIX, socket_flags(options), 0)};
    if (!s) return std::unexpected(last_system_error());
    if (::bind(s.native_handle(), address->get(), address->length) != 0) {
        const auto error = last_system_error();
        if (error != std::errc::address_in_use || path.starts_with('@')) {
            return std::unexpected(error);
        }
        // The file is there. Only a refused connect() proves nobody listens on it any more.
        auto probe = connect_unix(path, std::chrono::milliseconds{100});
        if (probe || probe.error() != std::errc::connection_refused) {
            return std::unexpected(error);
        }
        if (::unlink(std::string(path).c_str()) != 0) return std::unexpected(last_system_error());
        if (::bind(s.native_handle(), address->get(), address->length) != 0) {
            return std::unexpected(last_system_error());
        }
    }
    if (auto r = detail::check(::listen(s.native_handle(), options.backlog)); !r) {
        return std::unexpected(r.error());
    }
    return s;
}

result<socket> accept(int listener_fd, std::optional<std::chrono::milliseconds> timeout) {
    if (listener_fd < 0) return std::unexpected(make_error_code(errc::not_open));
    if (timeout) {
        pollfd p{listener_fd, POLLIN, 0};
        const auto wait_ms = static_cast<int>(
            std::clamp<std::chrono::milliseconds::rep>(timeout->count(), 0, INT_MAX));
        int ready = 0;
        do {
            ready = ::poll(&p, 1, wait_ms);
        } while (ready < 0 && errno == EINTR);
        if (ready < 0) return std::unexpected(last_system_error());
        if (ready == 0) return std::unexpected(make_error_code(errc::accept_timeout));
    }
    int fd = -1;
    do {
        fd = ::accept4(listener_fd, nullptr, nullptr, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return std::unexpected(last_system_error());
    return socket{fd};
}

}  // namespace waitless::net
