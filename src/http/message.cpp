#include "waitless/http/message.hpp"

#include <cstring>

namespace waitless::http {

namespace {

// n bytes (sizeof(Word) <= n <= 2 * sizeof(Word)) as two words that may overlap.
template <class Word>
void copy_ends(char* to, const char* from, std::size_t n) {
    Word head, tail;
    std::memcpy(&head, from, sizeof head);
    std::memcpy(&tail, from + n - sizeof tail, sizeof tail);
    std::memcpy(to, &head, sizeof head);
    std::memcpy(to + n - sizeof tail, &tail, sizeof tail);
}

// Copies s to `to` and returns its end. Field names and most values are short: copied inline,
// where a call to memcpy would cost more than the copy.
char* put(char* to, std::string_view s) {
    const std::size_t n = s.size();
    if (n > 16) {
        std::memcpy(to, s.data(), n);
    } else if (n >= 8) {
        copy_ends<std::uint64_t>(to, s.data(), n);
    } else if (n >= 4) {
        copy_ends<std::uint32_t>(to, s.data(), n);
    } else if (n > 0) {
        to[0] = s[0];
        to[n / 2] = s[n / 2];
        to[n - 1] = s[n - 1];
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
