// The client's pure pieces, apart from any socket: URLs, request heads, Keep-Alive parameters.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "waitless/core/error.hpp"
#include "waitless/http/message.hpp"
#include "waitless/http/request.hpp"

namespace waitless::http::detail {

struct parsed_url {
    std::string_view authority;  // "host:port" as written (the origin's key)
    std::string_view host;       // without brackets for IPv6
    std::uint16_t port = 80;
    std::string_view target;  // "/..." ("/" when the URL has no path)
};

// "http://host[:port][/path][?query]"; client_errc::invalid_url otherwise.
result<parsed_url> parse_url(std::string_view url);
// What follows the authority in such a URL ("", "/path?query", "/#frag"): the request target
// ("/" when empty), or client_errc::invalid_url.
result<std::string_view> parse_url_target(std::string_view rest);

// What the caller's own fields say, once checked.
struct field_summary {
    bool has_host = false;
    bool asks_close = false;        // Connection: close
    bool expects_continue = false;  // Expect: 100-continue
};
// A method is a token (RFC 9110 9.1): anything else would let a caller write a second
// request line into the connection.
bool valid_method(std::string_view method);

// client_errc::invalid_request for a bad name, CR/LF/NUL in a value, or a framing field
// (Content-Length, Transfer-Encoding) the client must set itself. bytes_checked: names and
// values are known good (client_request::fields_checked), only the framing is refused.
result<field_summary> check_fields(std::span<const header_field> fields,
                                   bool bytes_checked = false);

// How the request body is framed on the wire.
enum class request_framing { none, content_length, chunked };

// Appends the request line, Host (unless the caller gave one), the caller's fields, the framing
// field and Connection: close, and the empty line.
void format_request_head(std::string& out, std::string_view method, std::string_view target,
                         std::string_view host, std::span<const header_field> fields, bool add_host,
                         request_framing framing, std::uint64_t length, bool close);

// The timeout parameter of a Keep-Alive field ("timeout=5, max=100"), if given and valid.
std::optional<std::chrono::seconds> keep_alive_timeout(const message_head& head);

// Idempotent by RFC 9110 9.2.2: GET, HEAD, PUT, DELETE, OPTIONS, TRACE.
bool is_idempotent(std::string_view method);
// Whether a request can be sent a second time: idempotent, and its body can be produced again.
bool is_replayable(const client_request& r);

}  // namespace waitless::http::detail
