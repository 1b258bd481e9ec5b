#include "waitless/http/message.hpp"

namespace waitless::http {
namespace {

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

}  // namespace

std::optional<std::string_view> message_head::find(std::string_view name) const {
    for (const auto& field : headers) {
        if (iequals(field.name, name)) return field.value;
    }
    return std::nullopt;
}

bool message_head::has_token(std::string_view name, std::string_view token) const {
    for (const auto& field : headers) {
        if (!iequals(field.name, name)) continue;
        std::string_view list = field.value;
        while (!list.empty()) {
            const auto comma = list.find(',');
            if (iequals(trim(list.substr(0, comma)), token)) return true;
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
    }
    return false;
}

}  // namespace waitless::http
