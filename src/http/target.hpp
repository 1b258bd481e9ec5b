// Request targets (RFC 9112 3.2) and the uri-host [":" port] of Host fields and authorities.
#pragma once

#include <optional>
#include <string_view>

#include "waitless/http/message.hpp"

namespace waitless::http::detail {

// uri-host [ ":" port ] (RFC 3986 3.2.2): a reg-name, an IPv4 address (a reg-name too) or a
// bracketed IPv6 address, not empty; a port, if there is a colon, of 1 to 5 digits up to 65535.
bool valid_authority(std::string_view text, bool port_required);

struct classified_target {
    target_form form = target_form::origin;
    std::string_view authority;  // of the absolute and authority forms
};

// The form of `target` if it is one `method` may use: authority-form for CONNECT and only
// for it, asterisk-form for OPTIONS and only for it, origin-form or absolute-form otherwise.
std::optional<classified_target> classify_target(std::string_view method, std::string_view target);

}  // namespace waitless::http::detail
