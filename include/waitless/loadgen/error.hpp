// Errors of the load generator's set-up: waitless::loadgen::errc, the "waitless.loadgen" category.
#pragma once

#include <system_error>

#include "waitless/core/error.hpp"

namespace waitless::loadgen {

enum class errc {
    bad_url = 1,     // not http://host[:port][/path] nor unix:/path
    bad_duration,    // not a number with an optional unit (ms, s, m, h)
    bad_header,      // not "Name: value"
    bad_mode,        // not short, server-close, keepalive or pool
    resolve_failed,  // the URL's host did not resolve
    unsupported,     // a combination the modes do not offer (pool over a Unix socket)
    bad_response,    // the response could not be parsed, or ended early
};

const std::error_category& category();
std::error_code make_error_code(errc e);

}  // namespace waitless::loadgen

template <>
struct std::is_error_code_enum<waitless::loadgen::errc> : std::true_type {};
