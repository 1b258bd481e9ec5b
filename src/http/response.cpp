// Reason phrases, the Date field and responses formatted ahead of time.
#include "waitless/http/response.hpp"

#include <array>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace waitless::http {

namespace {

constexpr std::string_view reason_of(int status) {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 102:
            return "Processing";
        case 103:
            return "Early Hints";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 411:
            return "Length Required";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

// "HTTP/1.1 200 OK\r\n" for every status from 100 to 999, each in a slot of its own (its
// length, then its bytes), made at compile time: the response path copies a line, no more.
constexpr int first_status = 100;
constexpr int last_status = 999;
constexpr std::size_t slot_size = 48;  // the longest line, "HTTP/1.1 431 ...Large\r\n", is 46

constexpr auto status_lines = [] {
    std::array<char, (last_status - first_status + 1) * slot_size> table{};
    for (int status = first_status; status <= last_status; ++status) {
        char* slot = table.data() + (status - first_status) * slot_size;
        std::size_t n = 1;
        const auto put = [&](std::string_view text) {
            for (char c : text) slot[n++] = c;
        };
        put("HTTP/1.1 ");
        slot[n++] = static_cast<char>('0' + status / 100);
        slot[n++] = static_cast<char>('0' + status / 10 % 10);
        slot[n++] = static_cast<char>('0' + status % 10);
        slot[n++] = ' ';
        put(reason_of(status));
        put("\r\n");
        if (n > slot_size) throw "a status line longer than its slot";
        slot[0] = static_cast<char>(n - 1);
    }
    return table;
}();

int checked_status(int status) {
    if (status < first_status || status > last_status) {
        throw std::invalid_argument("a status code is 100 to 999");
    }
    return status;
}

}  // namespace

std::string_view reason_phrase(int status) { return reason_of(status); }

std::string_view status_line(int status) {
    if (status < first_status || status > last_status) return {};
    const char* slot = status_lines.data() + (status - first_status) * slot_size;
    return {slot + 1, static_cast<std::size_t>(slot[0])};
}

std::string format_date_line(std::int64_t unix_seconds) {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char out[64];
    std::snprintf(out, sizeof out, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                  days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                  tm.tm_min, tm.tm_sec);
    return std::string(out, date_line_size);
}

std::string format_status_and_fields(int status, std::span<const header_field> fields) {
    std::string out(status_line(status));
    append_field_lines(out, fields);
    return out;
}

prepared_response::prepared_response(int status, std::span<const header_field> fields,
                                     std::string body)
    : status_(checked_status(status)),
      head_(format_status_and_fields(status, fields)),
      body_(std::move(body)) {
    // 1xx, 204 and 304 have no body and no length (RFC 9110 8.6).
    const bool bodyless = status < 200 || status == 204 || status == 304;
    if (bodyless) {
        body_.clear();
    } else {
        head_ += "Content-Length: " + std::to_string(body_.size()) + "\r\n";
    }
}

}  // namespace waitless::http
