#include "waitless/http/error.hpp"

#include <string>

#include "waitless/core/error.hpp"

namespace waitless::http {
namespace {

std::string_view describe(errc e) {
    switch (e) {
        case errc::bad_request_line:
            return "malformed request line";
        case errc::bad_method:
            return "invalid method";
        case errc::bad_target:
            return "invalid request target";
        case errc::bad_version:
            return "malformed HTTP version";
        case errc::version_not_supported:
            return "HTTP version not supported";
        case errc::bad_status_line:
            return "malformed status line";
        case errc::bad_line_ending:
            return "bare CR or LF";
        case errc::bad_header_name:
            return "invalid header field name";
        case errc::whitespace_before_colon:
            return "whitespace between field name and colon";
        case errc::leading_whitespace:
            return "whitespace before the first header field";
        case errc::obsolete_line_folding:
            return "obsolete line folding";
        case errc::bad_header_value:
            return "control character in header field value";
        case errc::missing_host:
            return "HTTP/1.1 request without Host";
        case errc::duplicate_host:
            return "more than one Host";
        case errc::bad_host:
            return "invalid Host";
        case errc::host_mismatch:
            return "Host differs from the request target's authority";
        case errc::bad_content_length:
            return "invalid Content-Length";
        case errc::duplicate_content_length:
            return "more than one Content-Length";
        case errc::content_length_with_transfer_encoding:
            return "both Content-Length and Transfer-Encoding";
        case errc::transfer_encoding_in_http10:
            return "Transfer-Encoding in HTTP/1.0";
        case errc::chunked_not_last:
            return "chunked is not the last transfer coding";
        case errc::chunked_twice:
            return "chunked applied more than once";
        case errc::unknown_transfer_coding:
            return "unknown transfer coding";
        case errc::bad_chunk_size:
            return "invalid chunk size";
        case errc::chunk_size_overflow:
            return "chunk size overflows";
        case errc::bad_chunk_extension:
            return "invalid chunk extension";
        case errc::chunk_line_too_long:
            return "chunk line too long";
        case errc::bad_chunk_end:
            return "chunk data not followed by CRLF";
        case errc::start_line_too_long:
            return "start line too long";
        case errc::head_too_large:
            return "header section too large";
        case errc::too_many_headers:
            return "too many header fields";
        case errc::body_too_large:
            return "body too large";
        case errc::partial_message:
            return "connection closed inside a message";
        case errc::response_already_started:
            return "a response was already started for this request";
        case errc::invalid_response_field:
            return "a response field with CR, LF or NUL, or one the server frames itself";
        case errc::not_an_upgrade:
            return "no switch of protocols was asked for, offered or started";
    }
    return "unknown HTTP error";
}

}  // namespace

const std::error_category& category() {
    static const core::enum_category<errc> instance("waitless.http", describe);
    return instance;
}

std::error_code make_error_code(errc e) { return {static_cast<int>(e), category()}; }

int status_for(std::error_code ec) {
    if (ec.category() != category()) return 400;
    switch (static_cast<errc>(ec.value())) {
        case errc::version_not_supported:
            return 505;
        case errc::unknown_transfer_coding:
            return 501;
        case errc::start_line_too_long:
            return 414;
        case errc::head_too_large:
        case errc::too_many_headers:
            return 431;
        case errc::body_too_large:
            return 413;
        default:
            return 400;
    }
}

}  // namespace waitless::http
