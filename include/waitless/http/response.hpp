// Response heads formatted ahead of time, so the response path only copies bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "waitless/http/message.hpp"

namespace waitless::http {

// The reason phrase of a status code ("OK", "Not Found"); "Unknown" for codes without one.
std::string_view reason_phrase(int status);
// "HTTP/1.1 404 Not Found\r\n" for a status from 100 to 999 ("HTTP/1.1 299 Unknown\r\n" for one
// without a phrase); empty for any other number.
std::string_view status_line(int status);

// "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" for a time in seconds since the epoch (IMF-fixdate).
std::string format_date_line(std::int64_t unix_seconds);
inline constexpr std::size_t date_line_size = 37;

// A complete response formatted once: status line, the given fields, Content-Length and the
// body. The server adds Date and the connection fields (Connection, Keep-Alive) when it sends
// it, and leaves the body out for HEAD requests.
class prepared_response {
  public:
    // Throws std::invalid_argument for a status outside 100 to 999.
    prepared_response(int status, std::span<const header_field> fields, std::string body);

    int status() const { return status_; }
    // Status line and fields, each line ending in CRLF, without the final empty line.
    std::string_view head() const { return head_; }
    std::string_view body() const { return body_; }

  private:
    int status_;
    std::string head_;
    std::string body_;
};

// A status line with the fields that do not depend on the body, as start() of a streamed
// response writes it: "HTTP/1.1 200 OK\r\nName: value\r\n...".
std::string format_status_and_fields(int status, std::span<const header_field> fields);

}  // namespace waitless::http
