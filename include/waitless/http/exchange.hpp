// One request and its response on a server connection: what a handler reads and writes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "waitless/core/error.hpp"
#include "waitless/http/message.hpp"
#include "waitless/http/response.hpp"
#include "waitless/io/task.hpp"
#include "waitless/net/endpoint.hpp"

namespace waitless::http {

namespace detail {
class connection;
}

// Handed to the handler for one request; valid until the handler's coroutine returns. The
// request head's views stay valid that long too. Responses go out in request order: a
// connection runs one exchange at a time, pipelined requests wait their turn.
//
// Full duplex: read_body() and write() may be awaited at the same time (from two coroutines of
// the handler joined with io::when_all), so a relay can stream both ways. When the connection
// fails, times out or is cut by the drain timeout, both return an error; the handler should
// then end.
class exchange {
  public:
    explicit exchange(detail::connection& owner) : owner_(&owner) {}

    const message_head& request() const;
    // The client's address; empty for a Unix socket.
    const std::optional<net::endpoint>& peer() const;
    // The address the client connected to; empty for a Unix socket.
    std::optional<net::endpoint> local() const;

    // The next piece of the request body, an empty view at its end. A piece is valid until the
    // next call. Reads only when asked, so a slow handler holds back the client (bounded
    // memory); waits for the client to take buffered response bytes only while they are past
    // the write buffer's high-water mark. Fails when the connection fails, times out or the
    // body is malformed; the server then answers (status_for(ec)) if no response was started.
    io::task<result<std::string_view>> read_body();

    // A whole response formatted ahead of time: the fast path. A second response is
    // errc::response_already_started.
    result<void> send(const prepared_response& response);

    // A response built now. With a length the body must have exactly that many bytes; without
    // one it is chunked (or, for an HTTP/1.0 client, delimited by the close). The server frames
    // the response: a field with CR, LF or NUL in it, or a Content-Length, Transfer-Encoding
    // or Connection field, is refused (errc::invalid_response_field) and nothing is sent.
    result<void> start(int status, std::span<const header_field> fields,
                       std::optional<std::uint64_t> content_length);
    // Body bytes of a started response. Buffered; waits for the client to take what is
    // buffered past the server's high-water mark (backpressure).
    io::task<result<void>> write(std::string_view body);
    // Ends the started response (the last chunk when chunked).
    void end();
    // Gives up on the response (a relay whose source failed mid-body): once the handler
    // returns, the connection is reset instead of ending the response, so the client never
    // takes a cut-off body for a whole one. Later writes fail.
    void abort();

    // Called once, on the worker's thread, if the client goes away (its FIN or an RST arrives
    // while the handler is not reading) or the drain timeout cuts the connection, while this
    // exchange runs: the handler should then end whatever it waits for (a timer, an upstream).
    // As in nginx (proxy_ignore_client_abort off), a client that half-closes after its request
    // is taken as gone: TCP does not tell a half-close from a close.
    // Must not destroy anything the handler's coroutine still uses; resume nothing inline.
    void on_cancel(std::function<void()> hook);
    // Whether the client went away or the connection was cut while the handler ran.
    bool cancelled() const;

    // Whether a response was started (send() or start()).
    bool responded() const;
    // The server is shutting down: this response is the connection's last.
    bool stopping() const;

  private:
    detail::connection* owner_;
};

}  // namespace waitless::http
