// Errors of the HTTP/1.1 layer, and the status code each rejection answers with.
#pragma once

#include <system_error>

namespace waitless::http {

enum class errc {
    bad_request_line = 1,
    bad_method,
    bad_target,
    bad_version,
    version_not_supported,  // 505
    bad_status_line,
    bad_line_ending,  // bare CR or bare LF
    bad_header_name,
    whitespace_before_colon,
    leading_whitespace,  // whitespace before the first header field
    obsolete_line_folding,
    bad_header_value,  // NUL or another control character
    missing_host,
    duplicate_host,
    bad_host,
    host_mismatch,  // Host differs from the authority of the request target
    bad_content_length,
    duplicate_content_length,
    content_length_with_transfer_encoding,
    transfer_encoding_in_http10,
    chunked_not_last,  // a transfer-coding list whose last coding is not chunked
    chunked_twice,
    unknown_transfer_coding,  // 501
    bad_chunk_size,
    chunk_size_overflow,
    bad_chunk_extension,
    chunk_line_too_long,
    bad_chunk_end,        // chunk data not followed by CRLF
    start_line_too_long,  // 414 for a request
    head_too_large,       // 431
    too_many_headers,     // 431
    body_too_large,       // 413
    partial_message,      // the peer closed inside a message
    // A handler's misuse of an exchange (not the peer's fault; nothing is sent).
    response_already_started,
    invalid_response_field,  // CR, LF or NUL, or a framing field the server owns
    // A 101 to a request that did not ask to switch (or may not: a body, HTTP/1.0), a 101
    // without Upgrade, or a tunnel without a 101.
    not_an_upgrade,
};

const std::error_category& category();
std::error_code make_error_code(errc e);

// The response status a server sends for a rejected request (400 unless the RFC says
// otherwise: 413, 414, 431, 501, 505).
int status_for(std::error_code ec);

}  // namespace waitless::http

template <>
struct std::is_error_code_enum<waitless::http::errc> : std::true_type {};
