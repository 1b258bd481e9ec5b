#include "waitless/core/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace waitless::core {

ip_address ip_address::v4(std::uint32_t network_order) {
    ip_address a;
    a.family = AF_INET;
    std::memcpy(a.bytes.data(), &network_order, 4);
    return a;
}

ip_address ip_address::v6(const std::uint8_t (&network_order)[16]) {
    ip_address a;
    a.family = AF_INET6;
    std::memcpy(a.bytes.data(), network_order, 16);
    return a;
}

result<ip_address> ip_address::parse(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
        return std::unexpected(make_error_code(errc::malformed_input));
    }
    char buffer[INET6_ADDRSTRLEN] = {};
    std::memcpy(buffer, text.data(), text.size());
    ip_address a;
    if (inet_pton(AF_INET, buffer, a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (inet_pton(AF_INET6, buffer, a.bytes.data()) == 1) {
        a.family = AF_INET6;
        return a;
    }
    return std::unexpected(make_error_code(errc::malformed_input));
}

namespace {
bool is_v4_mapped(const ip_address& a) {
    static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return a.family == AF_INET6 && std::memcmp(a.bytes.data(), prefix, 12) == 0;
}
}  // namespace

ip_address ip_address::unmapped() const {
    if (!is_v4_mapped(*this)) return *this;
    ip_address v4_address;
    v4_address.family = AF_INET;
    std::memcpy(v4_address.bytes.data(), bytes.data() + 12, 4);
    return v4_address;
}

bool ip_address::is_loopback() const {
    const ip_address a = unmapped();
    if (a.family == AF_INET) return a.bytes[0] == 127;
    if (a.family == AF_INET6) {
        static constexpr std::uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                      0, 0, 0, 0, 0, 0, 0, 1};
        return std::memcmp(a.bytes.data(), loopback, 16) == 0;
    }
    return false;
}

bool ip_address::is_unspecified() const {
    const std::size_t n = family == AF_INET ? 4 : 16;
    for (std::size_t i = 0; i < n; ++i) {
        if (bytes[i] != 0) return false;
    }
    return family != 0;
}

std::string ip_address::to_string() const {
    char buffer[INET6_ADDRSTRLEN] = {};
    if (family != AF_INET && family != AF_INET6) return "?";
    inet_ntop(family, bytes.data(), buffer, sizeof buffer);
    return buffer;
}

result<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value == 0 ||
        value > 65535 || text.front() == '+') {
        return std::unexpected(make_error_code(errc::malformed_input));
    }
    return static_cast<std::uint16_t>(value);
}

result<address_filter> address_filter::parse(std::string_view text) {
    address_filter filter;
    std::string_view host = text;
    std::optional<std::string_view> port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            return std::unexpected(make_error_code(errc::malformed_input));
        }
        host = text.substr(1, close - 1);
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::unexpected(make_error_code(errc::malformed_input));
            port_text = rest.substr(1);
        }
    } else if (text.find(':') == text.rfind(':') && text.find(':') != std::string_view::npos) {
        // Exactly one colon: IPv4 with a port. Several colons: a bare IPv6 address.
        const auto colon = text.find(':');
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    auto address = ip_address::parse(host);
    if (!address) return std::unexpected(address.error());
    if (!text.empty() && text.front() == '[' && address->family != AF_INET6) {
        return std::unexpected(make_error_code(errc::malformed_input));
    }
    filter.address = *address;
    if (port_text) {
        auto port = parse_port(*port_text);
        if (!port) return std::unexpected(port.error());
        filter.port = *port;
    }
    return filter;
}

result<ip_network> ip_network::parse(std::string_view text) {
    const auto slash = text.find('/');
    auto address = ip_address::parse(text.substr(0, slash));
    if (!address) return std::unexpected(address.error());
    ip_network out;
    out.address = address->unmapped();
    const unsigned width = out.address.family == AF_INET ? 32 : 128;
    out.prefix = width;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        unsigned prefix = 0;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
            prefix > width) {
            return std::unexpected(make_error_code(errc::malformed_input));
        }
        out.prefix = prefix;
    }
    // Host bits are cleared, so "10.1.2.3/8" means 10.0.0.0/8.
    for (unsigned bit = out.prefix; bit < width; ++bit) {
        out.address.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    }
    return out;
}

bool ip_network::contains(const ip_address& a) const {
    const ip_address candidate = a.unmapped();
    if (candidate.family != address.family) return false;
    const unsigned whole = prefix / 8;
    if (std::memcmp(candidate.bytes.data(), address.bytes.data(), whole) != 0) return false;
    if (prefix % 8 == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - prefix % 8));
    return (candidate.bytes[whole] & mask) == address.bytes[whole];
}

std::string ip_network::to_string() const {
    return address.to_string() + "/" + std::to_string(prefix);
}

result<std::vector<ip_network>> parse_networks(std::string_view text) {
    std::vector<ip_network> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        auto network = ip_network::parse(text.substr(0, comma));
        if (!network) return std::unexpected(network.error());
        out.push_back(*network);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
        if (text.empty()) return std::unexpected(make_error_code(errc::malformed_input));
    }
    return out;
}

}  // namespace waitless::core

std::size_t std::hash<waitless::core::ip_address>::operator()(
    const waitless::core::ip_address& a) const noexcept {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    std::memcpy(&hi, a.bytes.data(), 8);
    std::memcpy(&lo, a.bytes.data() + 8, 8);
    return std::hash<std::uint64_t>{}(hi * 0x9e3779b97f4a7c15ULL ^ lo ^
                                      static_cast<std::uint64_t>(a.family));
}
