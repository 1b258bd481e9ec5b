// The head of an HTTP/1.1 message as views into the buffer it was parsed from.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
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

namespace detail {

// Sets bit 0x20 of each byte of x that is an ASCII capital letter, 8 bytes at a time.
inline std::uint64_t fold_capitals(std::uint64_t x) {
    constexpr std::uint64_t ones = 0x0101010101010101;
    const std::uint64_t low7 = x & (0x7f * ones);
    const std::uint64_t from_a = low7 + (0x80 - 'A') * ones;      // top bit: byte >= 'A'
    const std::uint64_t past_z = low7 + (0x80 - 'Z' - 1) * ones;  // top bit: byte > 'Z'
    const std::uint64_t capital = from_a & ~past_z & ~x & (0x80 * ones);
    return x | (capital >> 2);
}

inline std::uint64_t load8(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace detail

// ASCII case-insensitive equality, as field names and codings compare. Inline: most calls
// compare a field name with a name of another length and end at once. Names of 8 bytes or
// more go 8 bytes at a time (the last 8 overlapping), shorter ones a byte at a time.
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    const std::size_t n = a.size();
    if (n >= 8) {
        using detail::fold_capitals;
        using detail::load8;
        for (std::size_t i = 0; i + 8 < n; i += 8) {
            if (fold_capitals(load8(a.data() + i)) != fold_capitals(load8(b.data() + i))) {
                return false;
            }
        }
        return fold_capitals(load8(a.data() + n - 8)) == fold_capitals(load8(b.data() + n - 8));
    }
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(a[i]);
        const auto y = static_cast<unsigned char>(b[i]);
        if (x == y) continue;
        // Equal only as two cases of one letter: they differ in bit 0x20 alone.
        if ((x ^ y) != 0x20 || static_cast<unsigned char>((x | 0x20) - 'a') > 'z' - 'a') {
            return false;
        }
    }
    return true;
}

// Whether pred(item) holds for an item of a comma-separated list (RFC 9110 5.6.1), each item
// trimmed of spaces and tabs (an empty one is passed too); stops at the first that does.
template <class Pred>
bool any_list_item(std::string_view list, Pred pred) {
    for (;;) {
        const auto comma = list.find(',');
        auto item = list.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (pred(item)) return true;
        if (comma == std::string_view::npos) return false;
        list.remove_prefix(comma + 1);
    }
}

// Whether the list names token (case-insensitive): "close" in "keep-alive, Close".
inline bool list_has_token(std::string_view list, std::string_view token) {
    return any_list_item(list, [&](std::string_view item) { return iequals(item, token); });
}

// Appends "Name: value\r\n" for each field, growing `out` once.
void append_field_lines(std::string& out, std::span<const header_field> fields);

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
