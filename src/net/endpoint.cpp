#include "waitless/net/endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

#include "net/sockaddr.hpp"
#include "waitless/net/error.hpp"

namespace waitless::net {

result<endpoint> endpoint::parse(std::string_view text) {
    auto filter = core::address_filter::parse(text);
    if (!filter) return std::unexpected(filter.error());
    if (!filter->port) return std::unexpected(make_error_code(core::errc::malformed_input));
    return endpoint{filter->address, *filter->port};
}

endpoint endpoint::loopback_v4(std::uint16_t port) {
    return endpoint{core::ip_address::v4(htonl(INADDR_LOOPBACK)), port};
}

std::string endpoint::to_string() const {
    const std::string ip = address.to_string();
    if (address.family == AF_INET6) return "[" + ip + "]:" + std::to_string(port);
    return ip + ":" + std::to_string(port);
}

namespace detail {

socket_address to_socket_address(const endpoint& e) {
    socket_address out;
    if (e.address.family == AF_INET6) {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(e.port);
        std::memcpy(&v6->sin6_addr, e.address.bytes.data(), 16);
        out.length = sizeof(sockaddr_in6);
    } else {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
        v4->sin_family = AF_INET;
        v4->sin_port = htons(e.port);
        std::memcpy(&v4->sin_addr, e.address.bytes.data(), 4);
        out.length = sizeof(sockaddr_in);
    }
    return out;
}

result<endpoint> from_socket_address(const socket_address& address) {
    if (address.storage.ss_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
        return endpoint{core::ip_address::v4(v4->sin_addr.s_addr), ntohs(v4->sin_port)};
    }
    if (address.storage.ss_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
        std::uint8_t bytes[16];
        std::memcpy(bytes, &v6->sin6_addr, 16);
        return endpoint{core::ip_address::v6(bytes), ntohs(v6->sin6_port)};
    }
    return std::unexpected(std::make_error_code(std::errc::address_family_not_supported));
}

result<socket_address> to_unix_address(std::string_view path) {
    socket_address out;
    auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
    un->sun_family = AF_UNIX;
    const bool abstract = path.starts_with('@');
    // A file path needs room for its terminating NUL; an abstract name starts with one.
    if (path.empty() || path == "@") {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    if (path.size() >= sizeof un->sun_path) {
        return std::unexpected(make_error_code(errc::path_too_long));
    }
    std::memcpy(un->sun_path, path.data(), path.size());
    if (abstract) un->sun_path[0] = '\0';
    out.length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
    return out;
}

}  // namespace detail

namespace {

template <class Call>
result<endpoint> query(int fd, Call call) {
    detail::socket_address address;
    address.length = sizeof address.storage;
    if (call(fd, address.get(), &address.length) != 0) {
        return std::unexpected(last_system_error());
    }
    return detail::from_socket_address(address);
}

}  // namespace

result<endpoint> to_endpoint(const sockaddr_storage& address) {
    detail::socket_address a;
    a.storage = address;
    return detail::from_socket_address(a);
}

result<endpoint> local_endpoint(int fd) { return query(fd, ::getsockname); }
result<endpoint> remote_endpoint(int fd) { return query(fd, ::getpeername); }

}  // namespace waitless::net
