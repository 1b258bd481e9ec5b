// URLs, request heads and Keep-Alive parameters for the client; the error category too.
#include "client_wire.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "scan.hpp"
#include "waitless/http/client_error.hpp"

namespace waitless::http {
namespace {

std::string_view describe(client_errc e) {
    switch (e) {
        case client_errc::invalid_url:
            return "invalid URL (expected http://host[:port][/target])";
        case client_errc::invalid_request:
            return "invalid request field";
        case client_errc::resolve_failed:
            return "host name did not resolve";
        case client_errc::request_timeout:
            return "request timed out";
        case client_errc::response_header_timeout:
            return "response header timed out";
        case client_errc::peer_closed_before_response:
            return "connection closed before the response";
        case client_errc::body_too_large:
            return "response body too large";
        case client_errc::body_length_mismatch:
            return "request body length differs from the length announced";
        case client_errc::protocol_switch:
            return "101 Switching Protocols to a request that did not ask to upgrade";
    }
    return "unknown client error";
}

}  // namespace

const std::error_category& client_category() {
    static const core::enum_category<client_errc> instance("waitless.http.client", describe);
    return instance;
}

std::error_code make_error_code(client_errc e) { return {static_cast<int>(e), client_category()}; }

std::optional<std::string_view> client_response::find(std::string_view name) const {
    for (const auto& f : fields_) {
        if (iequals(f.name, name)) return f.value;
    }
    return std::nullopt;
}

namespace {

// Copies fields whose views point into a connection's buffer into one block of their own. A
// parser's fields lie in order within one head: that stretch is copied whole and the views
// moved with it, one copy instead of two per field.
template <class Storage>
void copy_fields(std::span<const header_field> in, Storage& storage,
                 std::vector<header_field>& out) {
    out.clear();
    if (in.empty()) return;
    out.reserve(in.size());
    const auto address = [](const char* p) { return reinterpret_cast<std::uintptr_t>(p); };
    const auto lo = address(in.front().name.data());
    const auto hi = address(in.back().value.data() + in.back().value.size());
    std::size_t total = 0;
    bool one_stretch = lo <= hi;
    for (const auto& f : in) {
        total += f.name.size() + f.value.size();
        one_stretch = one_stretch && address(f.name.data()) >= lo &&
                      address(f.value.data() + f.value.size()) <= hi;
    }
    // Only the separators and line ends between them: the stretch may not hold much else.
    one_stretch = one_stretch && hi - lo <= 2 * total + 8 * in.size();
    const std::size_t need = one_stretch ? hi - lo : total;
    if (need > storage.size || !storage.bytes) {
        storage.size = std::max<std::size_t>(need, 256);
        storage.bytes = std::make_unique_for_overwrite<char[]>(storage.size);
    }
    char* const block = storage.bytes.get();
    if (one_stretch) {
        std::memcpy(block, in.front().name.data(), need);
        const auto moved = [&](std::string_view v) {
            return std::string_view(block + (address(v.data()) - lo), v.size());
        };
        for (const auto& f : in) out.push_back({moved(f.name), moved(f.value)});
        return;
    }
    char* at = block;
    for (const auto& f : in) {
        std::memcpy(at, f.name.data(), f.name.size());
        std::memcpy(at + f.name.size(), f.value.data(), f.value.size());
        out.push_back({{at, f.name.size()}, {at + f.name.size(), f.value.size()}});
        at += f.name.size() + f.value.size();
    }
}

}  // namespace

void client_response::assign_head(const message_head& head) {
    status = head.status;
    version_minor = head.version_minor;
    copy_fields(head.headers, storage_, fields_);
    trailers_.clear();
}

void client_response::assign_trailers(std::span<const header_field> trailers) {
    if (trailers.empty()) {
        trailers_.clear();
        return;
    }
    copy_fields(trailers, trailer_storage_, trailers_);
}

}  // namespace waitless::http

namespace waitless::http::detail {
namespace {

std::error_code bad_url() { return make_error_code(client_errc::invalid_url); }

}  // namespace

result<parsed_url> parse_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (url.size() < scheme.size() || !iequals(url.substr(0, scheme.size()), scheme)) {
        return std::unexpected(bad_url());
    }
    url.remove_prefix(scheme.size());
    parsed_url out;
    const auto end = static_cast<std::size_t>(
        std::ranges::find_if(url, [](char c) { return c == '/' || c == '?' || c == '#'; }) -
        url.begin());
    out.authority = url.substr(0, end);
    auto target = parse_url_target(url.substr(end));
    if (!target) return std::unexpected(target.error());
    out.target = *target;
    std::string_view a = out.authority;
    if (a.empty() || a.find('@') != std::string_view::npos) return std::unexpected(bad_url());
    std::string_view port_text;
    if (a.front() == '[') {
        const auto close = a.find(']');
        if (close == std::string_view::npos) return std::unexpected(bad_url());
        out.host = a.substr(1, close - 1);
        const auto rest = a.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::unexpected(bad_url());
            port_text = rest.substr(1);
        }
    } else {
        const auto colon = a.rfind(':');
        out.host = a.substr(0, colon);
        if (colon != std::string_view::npos) port_text = a.substr(colon + 1);
    }
    if (out.host.empty()) return std::unexpected(bad_url());
    for (char c : out.host) {
        if (!is_token_char(c) && c != ':') return std::unexpected(bad_url());
    }
    if (!port_text.empty()) {
        unsigned value = 0;
        const auto [p, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (ec != std::errc{} || p != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            return std::unexpected(bad_url());
        }
        out.port = static_cast<std::uint16_t>(value);
    } else if (a.back() == ':') {
        return std::unexpected(bad_url());
    }
    return out;
}

result<std::string_view> parse_url_target(std::string_view rest) {
    std::string_view target = rest.empty() ? std::string_view("/") : rest;
    if (const auto hash = target.find('#'); hash != std::string_view::npos) {
        target = target.substr(0, hash);
    }
    if (target.empty() || target[0] != '/') return std::unexpected(bad_url());
    for (char c : target) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return std::unexpected(bad_url());
    }
    return target;
}

bool valid_method(std::string_view method) { return is_token(method); }

result<field_summary> check_fields(std::span<const header_field> fields, bool bytes_checked) {
    field_summary s;
    for (const auto& f : fields) {
        // A token for a name, no control character but HTAB in a value (RFC 9110 5.1, 5.5).
        if (!bytes_checked && (!is_token(f.name) || has_field_control(f.value))) {
            return std::unexpected(make_error_code(client_errc::invalid_request));
        }
        // By length first: most names are none of these.
        switch (f.name.size()) {
            case 4:
                if (iequals(f.name, "host")) s.has_host = true;
                break;
            case 6:
                if (iequals(f.name, "expect") && list_has_token(f.value, "100-continue"))
                    s.expects_continue = true;
                break;
            case 10:
                if (iequals(f.name, "connection") && list_has_token(f.value, "close"))
                    s.asks_close = true;
                break;
            case 14:
            case 17:  // the framing is the client's own
                if (iequals(f.name, "content-length") || iequals(f.name, "transfer-encoding")) {
                    return std::unexpected(make_error_code(client_errc::invalid_request));
                }
                break;
            default:
                break;
        }
    }
    return s;
}

void format_request_head(std::string& out, std::string_view method, std::string_view target,
                         std::string_view host, std::span<const header_field> fields, bool add_host,
                         request_framing framing, std::uint64_t length, bool close) {
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    if (add_host) out.append("Host: ").append(host).append("\r\n");
    append_field_lines(out, fields);
    if (framing == request_framing::content_length) {
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, length);
        out.append("Content-Length: ").append(digits, end).append("\r\n");
    } else if (framing == request_framing::chunked) {
        out.append("Transfer-Encoding: chunked\r\n");
    }
    if (close) out.append("Connection: close\r\n");
    out.append("\r\n");
}

std::optional<std::chrono::seconds> keep_alive_timeout(const message_head& head) {
    for (const auto& f : head.headers) {
        if (!iequals(f.name, "keep-alive")) continue;
        std::string_view v = f.value;
        while (!v.empty()) {
            const auto comma = v.find(',');
            std::string_view item = v.substr(0, comma);
            v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
            while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
                item.remove_prefix(1);
            }
            constexpr std::string_view key = "timeout=";
            if (item.size() <= key.size() || !iequals(item.substr(0, key.size()), key)) continue;
            item.remove_prefix(key.size());
            while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
                item.remove_suffix(1);
            }
            if (item.size() >= 2 && item.front() == '"' && item.back() == '"') {
                item = item.substr(1, item.size() - 2);  // a quoted-string parameter value
            }
            // A timeout we cannot read is taken as none left, so the connection is not reused
            // past what the server meant; a huge one is capped (and cannot overflow).
            constexpr unsigned long most = 24 * 60 * 60;
            unsigned long seconds = 0;
            const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), seconds);
            if (item.empty() || p != item.data() + item.size()) return std::chrono::seconds(0);
            if (ec == std::errc::result_out_of_range || seconds > most) seconds = most;
            return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(seconds));
        }
    }
    return std::nullopt;
}

bool is_idempotent(std::string_view method) {
    return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
           method == "OPTIONS" || method == "TRACE";
}

bool is_replayable(const client_request& r) {
    if (!r.idempotent && !is_idempotent(r.method)) return false;
    return !r.source || static_cast<bool>(r.source->rewind);
}

}  // namespace waitless::http::detail
