// Conversions between endpoints and the sockaddr structures the system calls take.
#pragma once

#include <sys/socket.h>

#include <string_view>

#include "waitless/net/endpoint.hpp"

namespace waitless::net::detail {

struct socket_address {
    sockaddr_storage storage{};
    socklen_t length = 0;

    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
    sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

socket_address to_socket_address(const endpoint& e);
result<endpoint> from_socket_address(const socket_address& address);
// A Unix socket path; "@name" is name in the abstract namespace (no file), as ss shows it.
result<socket_address> to_unix_address(std::string_view path);

// A result<void> from the return code of a system call (errno on -1).
inline result<void> check(int rc) {
    if (rc < 0) return std::unexpected(last_system_error());
    return {};
}

}  // namespace waitless::net::detail
