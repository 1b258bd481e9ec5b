// Errors of the HTTP/1.1 client: waitless::http::client_errc, the "waitless.http.client" category.
#pragma once

#include <system_error>

#include "waitless/core/error.hpp"

namespace waitless::http {

// Failures of an exchange that are neither the parser's (http::errc), the socket layer's
// (net::errc, e.g. connect_timeout), the pool's (pool::errc) nor plain system errors.
enum class client_errc {
    invalid_url = 1,  // not "http://host[:port][/target]"
    invalid_request,  // a method that is not a token, a header with CR/LF/NUL, or framing fields
                      // set by hand
    resolve_failed,   // the host name did not resolve
    request_timeout,  // the request was not sent, or the response not read, in time
    response_header_timeout,      // no complete response head within response_header_timeout
    peer_closed_before_response,  // the connection closed before any byte of the response
    body_too_large,               // the response body passed the limit given
    body_length_mismatch,         // a body source gave more or fewer bytes than announced
    protocol_switch,  // a 101 to a request that did not ask to upgrade (client_request::upgrade)
};

const std::error_category& client_category();
std::error_code make_error_code(client_errc e);

}  // namespace waitless::http

template <>
struct std::is_error_code_enum<waitless::http::client_errc> : std::true_type {};
