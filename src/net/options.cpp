#include "waitless/net/options.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

#include "net/sockaddr.hpp"
#include "waitless/net/socket.hpp"

// glibc's <netinet/in.h> lags the kernel; the value is the one in <linux/in.h> (6.3+).
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

namespace waitless::net {
namespace {

result<void> set_int(int fd, int level, int name, int value) {
    return detail::check(::setsockopt(fd, level, name, &value, sizeof value));
}

// Seconds for the keepalive options, which the kernel takes as int within 1..32767.
result<int> keepalive_seconds(std::chrono::seconds s) {
    if (s.count() < 1 || s.count() > 32767) {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    return static_cast<int>(s.count());
}

}  // namespace

result<void> set_nodelay(int fd, bool on) { return set_int(fd, IPPROTO_TCP, TCP_NODELAY, on); }
result<void> set_reset_on_close(int fd, bool on) {
    const linger l{on ? 1 : 0, 0};
    return detail::check(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l));
}

result<void> set_keepalive(int fd, const keepalive_options& keepalive) {
    const auto idle = keepalive_seconds(keepalive.idle);
    if (!idle) return std::unexpected(idle.error());
    const auto interval = keepalive_seconds(keepalive.interval);
    if (!interval) return std::unexpected(interval.error());
    if (keepalive.count < 1 || keepalive.count > 127) {  // MAX_TCP_KEEPCNT
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    // The timers first, so keepalive never runs with the kernel's 2 h default.
    if (auto r = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, *idle); !r) return r;
    if (auto r = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, *interval); !r) return r;
    if (auto r = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, keepalive.count); !r) return r;
    return set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
}

result<void> disable_keepalive(int fd) { return set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 0); }

result<void> set_user_timeout(int fd, std::chrono::milliseconds timeout) {
    if (timeout.count() < 0 || timeout.count() > std::numeric_limits<int>::max()) {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    return set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(timeout.count()));
}

result<void> set_local_port_range(int fd, port_range range) {
    if (range.low > range.high) {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    // Lower bound in the low 16 bits, upper bound in the high 16 bits.
    const std::uint32_t packed = std::uint32_t{range.low} | (std::uint32_t{range.high} << 16);
    return detail::check(::setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &packed, sizeof packed));
}

result<void> set_non_blocking(int fd, bool on) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0) return std::unexpected(last_system_error());
    const int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    if (wanted == flags) return {};
    return detail::check(::fcntl(fd, F_SETFL, wanted));
}

result<void> bind_source_address(int fd, const core::ip_address& source) {
    // Without this, bind() picks a port for (source IP) alone, and every destination then
    // shares one port range per source; with it the port is chosen per 4-tuple at connect().
    if (auto r = set_int(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1); !r) return r;
    const auto address = detail::to_socket_address(endpoint{source, 0});
    return detail::check(::bind(fd, address.get(), address.length));
}

bool local_port_range_supported() {
    const socket probe{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (!probe) return false;
    return set_local_port_range(probe.native_handle(), {40000, 40001}).has_value();
}

result<void> apply_connect_options(int fd, const connect_options& options) {
    if (auto r = set_nodelay(fd, options.nodelay); !r) return r;
    if (options.keepalive) {
        if (auto r = set_keepalive(fd, *options.keepalive); !r) return r;
    }
    if (options.user_timeout) {
        if (auto r = set_user_timeout(fd, *options.user_timeout); !r) return r;
    }
    if (options.local_port_range) {
        auto r = set_local_port_range(fd, *options.local_port_range);
        // An older kernel: the namespace-wide range applies instead, which is still correct.
        if (!r && r.error() != std::errc::no_protocol_option) return r;
    }
    return {};
}

}  // namespace waitless::net
