#include "waitless/loadgen/options.hpp"

#include <charconv>
#include <cmath>

#include "waitless/core/address.hpp"
#include "waitless/loadgen/error.hpp"

namespace waitless::loadgen {
namespace {

std::unexpected<std::error_code> fail(errc e) { return std::unexpected(make_error_code(e)); }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

result<mode> parse_mode(std::string_view text) {
    if (text == "short") return mode::short_lived;
    if (text == "server-close") return mode::server_close;
    if (text == "keepalive") return mode::keepalive;
    if (text == "pool") return mode::pool;
    return fail(errc::bad_mode);
}

std::string_view mode_name(mode m) {
    switch (m) {
        case mode::short_lived:
            return "short";
        case mode::server_close:
            return "server-close";
        case mode::keepalive:
            return "keepalive";
        case mode::pool:
            return "pool";
    }
    return "?";
}

std::string target::authority() const {
    if (is_unix()) return "localhost";
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

result<target> parse_target(std::string_view url) {
    target t;
    t.url = std::string(url);
    if (url.starts_with("unix:")) {
        auto path = url.substr(5);
        if (path.empty() || path.find_first_of(" \t\r\n") != std::string_view::npos) {
            return fail(errc::bad_url);
        }
        t.unix_path = std::string(path);
        return t;
    }
    if (!url.starts_with("http://")) return fail(errc::bad_url);
    auto rest = url.substr(7);
    const auto slash = rest.find_first_of("/?");
    auto authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        // "?q" alone means "/?q". (Built by appending: g++ 12 warns falsely (-Wrestrict) on
        // an insert at the front.)
        t.path.clear();
        if (rest[slash] == '?') t.path.push_back('/');
        t.path.append(rest.substr(slash));
    }
    if (t.path.find_first_of(" \t\r\n#") != std::string::npos) return fail(errc::bad_url);
    std::string_view port_text;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return fail(errc::bad_url);
        t.host = std::string(authority.substr(1, close - 1));
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(':')) return fail(errc::bad_url);
            port_text = after.substr(1);
            if (port_text.empty()) return fail(errc::bad_url);
        }
        if (!core::ip_address::parse(t.host)) return fail(errc::bad_url);
    } else {
        const auto colon = authority.rfind(':');
        t.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) return fail(errc::bad_url);
        }
    }
    if (t.host.empty() || t.host.find_first_of("@ /") != std::string::npos) {
        return fail(errc::bad_url);
    }
    if (!port_text.empty()) {
        auto port = core::parse_port(port_text);
        if (!port) return fail(errc::bad_url);
        t.port = *port;
    }
    return t;
}

result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) return fail(errc::bad_duration);
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    double seconds_per_unit = 0;
    if (unit.empty() || unit == "s") {
        seconds_per_unit = 1;
    } else if (unit == "ms") {
        seconds_per_unit = 1e-3;
    } else if (unit == "m") {
        seconds_per_unit = 60;
    } else if (unit == "h") {
        seconds_per_unit = 3600;
    } else {
        return fail(errc::bad_duration);
    }
    const double ns = value * seconds_per_unit * 1e9;
    if (!std::isfinite(ns) || ns <= 0 || ns > 1e18) return fail(errc::bad_duration);
    return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

result<std::pair<std::string, std::string>> parse_header(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(errc::bad_header);
    const auto name = text.substr(0, colon);
    for (char c : name) {
        if (!is_token_char(c)) return fail(errc::bad_header);
    }
    const auto value = trim(text.substr(colon + 1));
    if (value.find_first_of("\r\n") != std::string_view::npos ||
        value.find('\0') != std::string_view::npos) {
        return fail(errc::bad_header);
    }
    return std::pair{std::string(name), std::string(value)};
}

result<void> validate(const config& c) {
    if (c.how == mode::pool && c.to.is_unix()) return fail(errc::unsupported);
    if (c.connections == 0 || c.workers == 0)
        return std::unexpected(make_error_code(core::errc::out_of_range));
    return {};
}

std::string format_request(const config& c) {
    std::string out = c.method + " " + c.to.path + " HTTP/1.1\r\n";
    bool has_host = false;
    for (const auto& [name, value] : c.headers) {
        if (name.size() == 4 && (name[0] | 0x20) == 'h' && (name[1] | 0x20) == 'o' &&
            (name[2] | 0x20) == 's' && (name[3] | 0x20) == 't') {
            has_host = true;
        }
    }
    if (!has_host) out += "Host: " + c.to.authority() + "\r\n";
    for (const auto& [name, value] : c.headers) out += name + ": " + value + "\r\n";
    if (c.body) out += "Content-Length: " + std::to_string(c.body->size()) + "\r\n";
    if (c.how == mode::server_close) out += "Connection: close\r\n";
    out += "\r\n";
    if (c.body) out += *c.body;
    return out;
}

}  // namespace waitless::loadgen
