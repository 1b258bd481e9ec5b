// An IP address with a port, and the local and remote endpoints of a connected descriptor.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "waitless/core/address.hpp"
#include "waitless/core/error.hpp"

namespace waitless::net {

// Where a TCP socket is bound or connected: an IPv4 or IPv6 address and a port.
struct endpoint {
    core::ip_address address{};
    std::uint16_t port = 0;  // 0 when binding: the kernel picks one

    // "IP:PORT" or "[IPv6]:PORT"; the port is required.
    static result<endpoint> parse(std::string_view text);
    // 127.0.0.1 with the given port, the address every test uses.
    static endpoint loopback_v4(std::uint16_t port = 0);
    // "IP:PORT", with brackets around IPv6 addresses.
    std::string to_string() const;

    friend bool operator==(const endpoint&, const endpoint&) = default;
};

// From what accept() or getpeername() filled in; not an IP family: address_family_not_supported.
result<endpoint> to_endpoint(const sockaddr_storage& address);

result<endpoint> local_endpoint(int fd);   // getsockname()
result<endpoint> remote_endpoint(int fd);  // getpeername()

}  // namespace waitless::net
