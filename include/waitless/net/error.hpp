// Errors of the socket layer, registered as the "waitless.net" std::error_code category.
#pragma once

#include <system_error>

#include "waitless/core/error.hpp"

namespace waitless::net {

// Failures particular to this layer; system errors stay std::system_category codes.
enum class errc {
    connect_timeout = 1,  // connect() did not complete within connect_options::timeout
    data_would_be_lost,   // an abortive close was refused: bytes still unsent or unread
    stale,                // a pooled connection whose peer has closed, reset or sent bytes
    not_open,             // the operation needs an open socket
    address_mismatch,     // source and destination addresses of different families
    path_too_long,        // a Unix socket path longer than sun_path holds
    accept_timeout,       // no connection arrived within the wait given to accept()
};

const std::error_category& category();
std::error_code make_error_code(errc e);

}  // namespace waitless::net

template <>
struct std::is_error_code_enum<waitless::net::errc> : std::true_type {};
