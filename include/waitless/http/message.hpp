// The head of an HTTP/1.1 message as views into the buffer it was parsed from.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace waitless::http {

struct header_field {
    std::string_view name;
    std::string_view value;  // without surrounding whitespace
};

// How the body of a message is delimited (RFC 9112 section 6.3).
enum class body_framing { none, content_length, chunked, until_close };

// The form of a request target (RFC 9112 3.2).
enum class target_form {
    origin,     // "/path?query", for all methods
    absolute,   // "http://host:port/path?query", as sent to a proxy
    authority,  // "host:port", CONNECT only
    asterisk,   // "*", OPTIONS only
};

// ASCII case-insensitive equality, as field names and codings compare.
bool iequals(std::string_view a, std::string_view b);

struct message_head {
    // Request line (requests only).
    std::string_view method;
    std::string_view target;
    target_form form = target_form::origin;
    std::string_view authority;  // host[:port] of an absolute-form or authority-form target
    // Status line (responses only).
    int status = 0;
    std::string_view reason;

    int version_minor = 1;  // HTTP/1.0 or HTTP/1.1
    std::span<const header_field> headers;

    body_framing framing = body_framing::none;
    std::uint64_t content_length = 0;  // with body_framing::content_length
    bool keep_alive = true;            // from the version and Connection
    bool expect_continue = false;      // an HTTP/1.1 request with "Expect: 100-continue"

    // The first value of the named field, if present.
    std::optional<std::string_view> find(std::string_view name) const;
    // Whether a comma-separated field (such as Connection) lists the token.
    bool has_token(std::string_view name, std::string_view token) const;
};

}  // namespace waitless::http
