// One request and its response on a server connection: what a handler reads and writes.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "waitless/core/error.hpp"
#include "waitless/http/message.hpp"
#include "waitless/http/response.hpp"

namespace waitless::http {

namespace detail {
class connection;
}

// Handed to the handler for one request; valid until the handler's coroutine returns. The
// request head's views stay valid that long too. Responses go out in request order: a
// connection runs one exchange at a time, pipelined requests wait their turn.
class exchange {
  public:
    explicit exchange(detail::connection& owner) : owner_(&owner) {}

    const message_head& request() const;

    // The next piece of the request body, an empty view at its end. A piece is valid until the
    // next call. Reads only when asked, so a slow handler holds back the client (bounded
    // memory). Fails when the connection fails, times out or the body is malformed; the server
    // then answers (status_for(ec)) if no response was started.
    asio::awaitable<result<std::string_view>> read_body();

    // A whole response formatted ahead of time: the fast path.
    void send(const prepared_response& response);

    // A response built now. With a length the body must have exactly that many bytes; without
    // one it is chunked (or, for an HTTP/1.0 client, delimited by the close).
    void start(int status, std::span<const header_field> fields,
               std::optional<std::uint64_t> content_length);
    // Body bytes of a started response. Buffered; waits for the client to take what is
    // buffered past the server's high-water mark (backpressure).
    asio::awaitable<result<void>> write(std::string_view body);
    // Ends the started response (the last chunk when chunked).
    void end();

    // Whether a response was started (send() or start()).
    bool responded() const;
    // The server is shutting down: this response is the connection's last.
    bool stopping() const;

  private:
    detail::connection* owner_;
};

}  // namespace waitless::http
