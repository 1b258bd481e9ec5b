// Byte-class scans of the HTTP parser: 16 bytes at a time with SSE2, or one at a time.
// Neither reads a byte at or past `end`, so a buffer that ends at an unreadable page is safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace waitless::http::detail {

// RFC 9110 tchar: the characters of methods, field names and codings.
inline constexpr std::array<bool, 256> token_chars = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c) table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
    return table;
}();

inline bool is_token_char(char c) { return token_chars[static_cast<unsigned char>(c)]; }

// A control character other than HTAB, or DEL: never allowed in a field value or reason.
inline bool is_field_control(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
}

// Anything but visible ASCII (0x21-0x7e) ends a request target.
inline bool ends_target(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7f;
}

const char* find_field_control_scalar(const char* p, const char* end);
const char* find_target_end_scalar(const char* p, const char* end);
const char* find_field_control_simd(const char* p, const char* end);
const char* find_target_end_simd(const char* p, const char* end);

inline const char* find_field_control(const char* p, const char* end, bool simd) {
    return simd ? find_field_control_simd(p, end) : find_field_control_scalar(p, end);
}
inline const char* find_target_end(const char* p, const char* end, bool simd) {
    return simd ? find_target_end_simd(p, end) : find_target_end_scalar(p, end);
}
// A control character other than HTAB in a field value: CR or LF would end the field early.
inline bool has_field_control(std::string_view value) {
    const char* end = value.data() + value.size();
    return find_field_control_simd(value.data(), end) != end;
}
// A non-empty token: a method, a field name. (Byte by byte: names are short, and 16-byte
// loads with their masks cost as much as the loop for them.)
inline bool is_token(std::string_view text) {
    for (char c : text) {
        if (!is_token_char(c)) return false;
    }
    return !text.empty();
}

}  // namespace waitless::http::detail
