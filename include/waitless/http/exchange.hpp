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
#include "waitless/http/tunnel.hpp"
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
    // The request's trailer fields, once read_body() gave the empty view at the end of a
    // chunked body; empty before and for other bodies. Valid until the handler returns.
    std::span<const header_field> trailers() const;

    // A whole response formatted ahead of time: the fast path. A second response is
    // errc::response_already_started.
    result<void> send(const prepared_response& response);

    // A response built now. With a length the body must have exactly that many bytes; without
    // one it is chunked (or, for an HTTP/1.0 client, delimited by the close). The server frames
    // the response: a field with CR, LF or NUL in it, or a Content-Length, Transfer-Encoding
    // or Connection field, is refused (errc::invalid_response_field) and nothing is sent.
    // A 1xx status other than 101 is std::errc::invalid_argument (see informational()).
    // fields_checked: every name is a token and no value holds a control character but HTAB,
    // as in fields from waitless's parser (a proxy relaying a response); their bytes are not
    // scanned again, while the fields the server owns are refused all the same.
    //
    // 101 Switching Protocols: only to a request that asked (HTTP/1.1, Upgrade and
    // Connection: upgrade, no body) and with an Upgrade field among `fields` (else
    // errc::not_an_upgrade); the server adds Connection: upgrade. No HTTP follows on the
    // connection: tunnel() relays the new protocol, or the connection closes after the handler.
    result<void> start(int status, std::span<const header_field> fields,
                       std::optional<std::uint64_t> content_length, bool fields_checked = false);
    // An interim response (100 Continue, 103 Early Hints, ...; not 101) before the final one,
    // written at once. Dropped for an HTTP/1.0 client, which has no 1xx; a 100 is sent once
    // and only to a client that asked for it (Expect: 100-continue) and holds its body back,
    // and then the server does not send its own when the body is read.
    result<void> informational(int status, std::span<const header_field> fields);
    // Body bytes of a started response. Buffered; waits for the client to take what is
    // buffered past the server's high-water mark (backpressure).
    io::task<result<void>> write(std::string_view body);
    // Ends the started response (the last chunk when chunked).
    void end();
    // The same with trailer fields after a chunked body (checked as in start(); dropped when
    // the response is not chunked: a length, an HTTP/1.0 client, HEAD).
    result<void> end(std::span<const header_field> trailers);
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

    // After start(101, ...): relays bytes both ways between the client and `other` (a socket
    // that switched protocols, as client_stream::take_upgraded() gives it), first what either
    // side sent already (the bytes after the request head, other.early). Each direction goes
    // through a bounded buffer (a slow side holds the other back); a side's FIN is relayed
    // with shutdown(SHUT_WR); it ends when both directions have, when a side fails, when no
    // byte moved for the server's idle_timeout, or at the drain timeout. Then `other` is closed
    // (an RST unless both FINs went), and so is the client connection once the handler returns.
    // errc::not_an_upgrade without a 101 started. Pass a named object (std::move(other)):
    // g++ 12 mishandles an aggregate temporary made inside a co_await expression.
    io::task<result<tunnel_totals>> tunnel(upgraded other);

    // Whether a response was started (send() or start()).
    bool responded() const;
    // The server is shutting down: this response is the connection's last.
    bool stopping() const;

  private:
    detail::connection* owner_;
};

}  // namespace waitless::http
