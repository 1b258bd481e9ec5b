#include "waitless/http/message.hpp"

#include <cstring>

namespace waitless::http {

namespace {

// Copies s to `to` and returns its end. Field names and most values are short: copied with
// two overlapping loads and stores, inline, where a call to memcpy would cost more than the copy.
char* put(char* to, std::string_view s) {
    const char* from = s.data();
    const std::size_t n = s.size();
    if (n > 16) {
        std::memcpy(to, from, n);
    } else if (n >= 8) {
        std::uint64_t head, tail;
        std::memcpy(&head, from, 8);
        std::memcpy(&tail, from + n - 8, 8);
        std::memcpy(to, &head, 8);
        std::memcpy(to + n - 8, &tail, 8);
    } else if (n >= 4) {
        std::uint32_t head, tail;
        std::memcpy(&head, from, 4);
        std::memcpy(&tail, from + n - 4, 4);
        std::memcpy(to, &head, 4);
        std::memcpy(to + n - 4, &tail, 4);
    } else if (n > 0) {
        to[0] = from[0];
        to[n / 2] = from[n / 2];
        to[n - 1] = from[n - 1];
    }
    return to + n;
}

}  // namespace

void append_field_lines(std::string& out, std::span<const header_field> fields) {
    std::size_t size = 0;
    for (const auto& f : fields) size += f.name.size() + f.value.size() + 4;
    // Not resize_and_overwrite(): when the string must grow, libstdc++ 12 hands its callback
    // the new capacity instead of the size asked for.
    const std::size_t at = out.size();
    out.resize(at + size);
    char* p = out.data() + at;
    for (const auto& f : fields) {
        p = put(p, f.name);
        *p++ = ':';
        *p++ = ' ';
        p = put(p, f.value);
        *p++ = '\r';
        *p++ = '\n';
    }
}

std::optional<std::string_view> message_head::find(std::string_view name) const {
    for (const auto& field : headers) {
        if (iequals(field.name, name)) return field.value;
    }
    return std::nullopt;
}

bool message_head::has_token(std::string_view name, std::string_view token) const {
    for (const auto& field : headers) {
        if (!iequals(field.name, name)) continue;
        if (list_has_token(field.value, token)) return true;
    }
    return false;
}

}  // namespace waitless::http
