// Socket options as plain structs, and the setters that apply them to any native descriptor
// (so the Asio code of the HTTP layer can use them on its own sockets).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "waitless/core/address.hpp"
#include "waitless/core/error.hpp"

namespace waitless::net {

// SO_KEEPALIVE with its three timers: the first probe after `idle` without traffic, then one
// every `interval`, and the connection is dropped after `count` unanswered probes.
struct keepalive_options {
    std::chrono::seconds idle{60};
    std::chrono::seconds interval{10};
    int count = 6;
};

// A per-socket ephemeral port range (IP_LOCAL_PORT_RANGE, Linux 6.3+ and 6.1.31+), inclusive.
struct port_range {
    std::uint16_t low = 0;
    std::uint16_t high = 0;
};

// Everything connect() applies to an outgoing TCP connection; defaults suit a pooled client.
struct connect_options {
    // How long connect() may take; zero waits for the kernel (SYN retries, about 2 min).
    std::chrono::milliseconds timeout{5000};
    bool nodelay = true;                           // TCP_NODELAY: requests are not held back
    std::optional<keepalive_options> keepalive{};  // none: SO_KEEPALIVE stays off
    // TCP_USER_TIMEOUT: how long sent data may stay unacknowledged before the kernel drops the
    // connection; none leaves the kernel default (retries for about 15 min).
    std::optional<std::chrono::milliseconds> user_timeout{};
    // Each connection binds one of these (IP_BIND_ADDRESS_NO_PORT, so the port is still chosen
    // per 4-tuple at connect()); every source gives a destination another full port range.
    std::vector<core::ip_address> source_addresses{};
    // Where the kernel lacks IP_LOCAL_PORT_RANGE this is skipped and the namespace-wide
    // net.ipv4.ip_local_port_range applies.
    std::optional<port_range> local_port_range{};
    bool non_blocking = false;  // leave O_NONBLOCK set on the connected socket
};

// How listen() and listen_unix() set up a listening socket.
struct listen_options {
    int backlog = 4096;         // capped by net.core.somaxconn
    bool reuse_address = true;  // SO_REUSEADDR: relaxes bind() only; TIME_WAIT stays
    bool reuse_port = false;    // SO_REUSEPORT: several listeners (one per worker) on one port
    bool non_blocking = false;
    // TCP_NODELAY on the listener: Linux copies it into every accepted socket, so an accept
    // costs no setsockopt() of its own.
    bool nodelay = false;
    // SO_LINGER {1, 0} on the listener: accepted sockets inherit it too, so their close() sends
    // an RST with no setsockopt() of its own. A close that must send a FIN clears it first
    // (set_reset_on_close(fd, false)).
    bool reset_on_close = false;
    // TCP_DEFER_ACCEPT: a connection is accepted once its first bytes came (or after about
    // this long without them), so the first read after accept() finds the request. 0: off.
    std::chrono::seconds defer_accept{0};
};

result<void> set_nodelay(int fd, bool on);
// SO_LINGER {1, 0} (on: close() sends an RST and drops what is unsent) or {0, 0} (off: the
// usual FIN). Accepted sockets inherit it from their listener.
result<void> set_reset_on_close(int fd, bool on);
result<void> set_keepalive(int fd, const keepalive_options& keepalive);
result<void> disable_keepalive(int fd);
result<void> set_user_timeout(int fd, std::chrono::milliseconds timeout);
// Fails with std::errc::no_protocol_option (ENOPROTOOPT) on kernels without the option.
result<void> set_local_port_range(int fd, port_range range);
result<void> set_non_blocking(int fd, bool on);
// IP_BIND_ADDRESS_NO_PORT then bind(source, port 0): fixes the source IP, leaves the port open.
result<void> bind_source_address(int fd, const core::ip_address& source);

// Whether this kernel knows IP_LOCAL_PORT_RANGE (probes a throwaway socket).
bool local_port_range_supported();

// The options that do not need the remote end: nodelay, keepalive, user timeout, port range
// (the last one skipped on ENOPROTOOPT). The source address is bound by open_for_connect().
result<void> apply_connect_options(int fd, const connect_options& options);

}  // namespace waitless::net
