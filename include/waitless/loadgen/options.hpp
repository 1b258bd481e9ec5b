// What a load run does (the config `waitless bench` builds from its flags) and the parsers of
// its textual parts: the target URL, durations, header lines, the mode.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "waitless/core/error.hpp"

namespace waitless::loadgen {

// Which cause of TIME_WAIT (or which fix) the run reproduces.
enum class mode {
    short_lived,   // "short": a new connection per request, the client closes first
    server_close,  // "server-close": each request says Connection: close, the server closes
    keepalive,     // one long connection per virtual user
    pool,          // requests through http::client (a pool per worker loop)
};
result<mode> parse_mode(std::string_view text);
std::string_view mode_name(mode m);

// Where requests go: a TCP host and port, or a Unix stream socket.
struct target {
    std::string host;  // as in the URL (empty for Unix sockets)
    std::uint16_t port = 80;
    std::string path = "/";  // the request target: path and query
    std::string unix_path;   // set for a Unix socket
    std::string url;         // as given
    bool is_unix() const { return !unix_path.empty(); }
    // "host:port" for the Host field and the pooled client's origin.
    std::string authority() const;
};
// "http://host[:port][/path][?query]" (IPv6 literals in brackets) or "unix:/path/to.sock".
result<target> parse_target(std::string_view url);

// "10s", "500ms", "2m", "1h", or a plain number of seconds ("1.5").
result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// "Name: value" (optional whitespace around the value).
result<std::pair<std::string, std::string>> parse_header(std::string_view text);

struct config {
    target to;
    mode how = mode::keepalive;
    std::size_t connections = 10;  // virtual users, each with at most one request in flight
    std::size_t workers = 1;       // threads, one io::loop each (capped at connections)
    // The run ends after `duration`, or after `requests` requests; with both, whichever first.
    std::optional<std::chrono::nanoseconds> duration;
    std::optional<std::uint64_t> requests;
    // Requests per second over all workers, scheduled at fixed times; latency is then measured
    // from each request's scheduled time (wrk2's coordinated-omission correction).
    std::optional<double> rate;
    std::string method = "GET";
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::string> body;
    std::chrono::milliseconds timeout{5000};  // per request, connect included
    // After a failed connect a virtual user waits this long, so an exhausted port range is
    // counted, not spun on.
    std::chrono::milliseconds connect_error_pause{10};
    bool census = true;  // TIME_WAIT before and after the run
    // How often the progress callback is told, each time with a census when census is on.
    std::chrono::milliseconds progress_interval{1000};
};

// Checks what the flags cannot check one by one; usage errors say what to change.
result<void> validate(const config& c);

// The request as it goes on the wire: request line, Host, the given headers, Content-Length
// when there is a body, Connection: close in server-close mode, then the body.
std::string format_request(const config& c);

}  // namespace waitless::loadgen
