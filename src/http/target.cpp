#include "target.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace waitless::http::detail {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// unreserved / sub-delims (RFC 3986 2.2, 2.3)
constexpr std::array<bool, 256> reg_name_chars = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
    for (char c : std::string_view("-._~!$&'()*+,;=")) table[static_cast<unsigned char>(c)] = true;
    return table;
}();

bool is_reg_name_char(char c) { return reg_name_chars[static_cast<unsigned char>(c)]; }

// Whether text[i] starts a pct-encoded octet.
bool pct_encoded_at(std::string_view text, std::size_t i) {
    return i + 2 < text.size() && is_hex(text[i + 1]) && is_hex(text[i + 2]);
}

bool valid_reg_name(std::string_view host) {
    if (host.empty()) return false;
    for (std::size_t i = 0; i < host.size(); ++i) {
        if (host[i] == '%') {
            if (!pct_encoded_at(host, i)) return false;
            i += 2;
        } else if (!is_reg_name_char(host[i])) {
            return false;
        }
    }
    return true;
}

bool valid_ipv6(std::string_view address) {
    char text[INET6_ADDRSTRLEN];
    if (address.empty() || address.size() >= sizeof text) return false;
    std::memcpy(text, address.data(), address.size());
    text[address.size()] = '\0';
    in6_addr parsed{};
    return ::inet_pton(AF_INET6, text, &parsed) == 1;
}

bool valid_port(std::string_view port) {
    if (port.empty() || port.size() > 5) return false;
    unsigned value = 0;
    for (char c : port) {
        if (!is_digit(c)) return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

// absolute-path [ "?" query ], or with `may_be_empty` a path-abempty as after an authority.
// Any visible ASCII but "#" (a fragment is never sent), and valid pct-encoding in the path:
// browsers send "|", "{", "[" and a bare "%" in queries unencoded, so those are left alone.
bool valid_path_and_query(std::string_view text, bool may_be_empty) {
    if (text.empty()) return may_be_empty;
    if (text.front() != '/' && !(may_be_empty && text.front() == '?')) return false;
    bool in_query = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '#') return false;
        if (c == '?') {
            in_query = true;
        } else if (c == '%' && !in_query && !pct_encoded_at(text, i)) {
            return false;
        }
    }
    return true;
}

// scheme "://" authority path-abempty [ "?" query ], without userinfo (RFC 9110 4.2.4).
std::optional<std::string_view> absolute_form_authority(std::string_view target) {
    std::size_t i = 0;
    if (target.empty() || !is_alpha(target[0])) return std::nullopt;
    while (i < target.size() &&
           (is_alpha(target[i]) || is_digit(target[i]) || std::strchr("+-.", target[i]))) {
        ++i;
    }
    if (target.substr(i, 3) != "://") return std::nullopt;
    const auto rest = target.substr(i + 3);
    const auto authority_end = std::min(rest.find('/'), rest.find('?'));
    const auto authority = rest.substr(0, authority_end);
    if (!valid_authority(authority, false)) return std::nullopt;
    if (authority_end != std::string_view::npos &&
        !valid_path_and_query(rest.substr(authority_end), true)) {
        return std::nullopt;
    }
    return authority;
}

}  // namespace

bool valid_authority(std::string_view text, bool port_required) {
    std::size_t host_end = 0;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || !valid_ipv6(text.substr(1, close - 1))) {
            return false;
        }
        host_end = close + 1;
    } else {
        // One pass over the usual host (no pct-encoding); the full check when a '%' comes.
        const char* p = text.data();
        const char* const end = p + text.size();
        while (p != end && is_reg_name_char(*p)) ++p;
        host_end = static_cast<std::size_t>(p - text.data());
        if (host_end < text.size() && text[host_end] == '%') {
            host_end = std::min(text.find(':'), text.size());
            if (!valid_reg_name(text.substr(0, host_end))) return false;
        } else if (host_end == 0) {
            return false;
        }
    }
    if (host_end == text.size()) return !port_required;
    return text[host_end] == ':' && valid_port(text.substr(host_end + 1));
}

std::optional<classified_target> classify_target(std::string_view method, std::string_view target) {
    if (method == "CONNECT") {
        if (!valid_authority(target, true)) return std::nullopt;
        return classified_target{target_form::authority, target};
    }
    if (target == "*") {
        if (method != "OPTIONS") return std::nullopt;
        return classified_target{target_form::asterisk, {}};
    }
    if (target.starts_with('/')) {
        if (!valid_path_and_query(target, false)) return std::nullopt;
        return classified_target{target_form::origin, {}};
    }
    const auto authority = absolute_form_authority(target);
    if (!authority) return std::nullopt;
    return classified_target{target_form::absolute, *authority};
}

}  // namespace waitless::http::detail
