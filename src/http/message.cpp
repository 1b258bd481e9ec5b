#include "waitless/http/message.hpp"

#include <cstring>

namespace waitless::http {

void append_field_lines(std::string& out, std::span<const header_field> fields) {
    std::size_t size = 0;
    for (const auto& f : fields) size += f.name.size() + f.value.size() + 4;
    const std::size_t at = out.size();
    out.resize(at + size);
    char* p = out.data() + at;
    for (const auto& f : fields) {
        std::memcpy(p, f.name.data(), f.name.size());
        p += f.name.size();
        *p++ = ':';
        *p++ = ' ';
        std::memcpy(p, f.value.data(), f.value.size());
        p += f.value.size();
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
