// IPv4/IPv6 addresses and endpoints as plain values: parse, format, compare, hash.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "waitless/core/error.hpp"

namespace waitless::core {

struct ip_address {
    int family = 0;                        // AF_INET or AF_INET6; 0 means unset
    std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

    static ip_address v4(std::uint32_t network_order);
    static ip_address v6(const std::uint8_t (&network_order)[16]);
    // Parses a literal IPv4 or IPv6 address (no brackets, no port).
    static result<ip_address> parse(std::string_view text);

    bool is_loopback() const;
    bool is_unspecified() const;  // 0.0.0.0 or ::
    // For IPv4-mapped IPv6 (::ffff:a.b.c.d), the IPv4 address; otherwise itself.
    ip_address unmapped() const;
    std::string to_string() const;

    friend bool operator==(const ip_address&, const ip_address&) = default;
    friend auto operator<=>(const ip_address&, const ip_address&) = default;
};

// "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT"; port is absent when not given.
struct address_filter {
    ip_address address;
    std::optional<std::uint16_t> port;

    static result<address_filter> parse(std::string_view text);
};

// An address block in CIDR notation ("10.0.0.0/8", "fd00::/8"); a plain address is a /32 or
// a /128. IPv4-mapped IPv6 peers match IPv4 networks.
struct ip_network {
    ip_address address;  // the bits past the prefix are zero
    unsigned prefix = 0;

    static result<ip_network> parse(std::string_view text);
    bool contains(const ip_address& a) const;
    std::string to_string() const;
};

// A comma-separated list of networks ("10.0.0.0/8,192.168.1.7"); empty text, an empty list.
result<std::vector<ip_network>> parse_networks(std::string_view text);

// A port number 1..65535 from text made of digits only.
result<std::uint16_t> parse_port(std::string_view text);

}  // namespace waitless::core

template <>
struct std::hash<waitless::core::ip_address> {
    std::size_t operator()(const waitless::core::ip_address& a) const noexcept;
};
