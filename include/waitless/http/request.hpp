// What the HTTP/1.1 client sends (client_request, with an in-memory or streamed body) and what
// it gets back (client_response, which owns its bytes).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "waitless/core/error.hpp"
#include "waitless/http/message.hpp"
#include "waitless/io/task.hpp"

namespace waitless::io {
class fd_watch;
}

namespace waitless::http {

namespace detail {
class client_core;
struct stream_state;
}  // namespace detail

// Ends a streamed request early, from its loop's thread (a proxy whose client went away):
// cancel() ends the wait of the exchange under way on the next turn, and any later attempt,
// with std::errc::operation_canceled; the connection is then reset, never reused. Used by
// client::stream() (the loop face).
class cancel_handle {
  public:
    void cancel();
    bool cancelled() const { return cancelled_; }

  private:
    friend class detail::client_core;
    friend struct detail::stream_state;
    io::fd_watch* watch_ = nullptr;  // the connection of the exchange under way
    bool cancelled_ = false;
};

// A request body produced piece by piece. next() returns the next piece (valid until the next
// call), an empty view at the end, or an error to abort the request. With rewind set the body can
// be produced again from the start, which makes it replayable (a retry may send it twice).
struct body_source {
    std::function<result<std::string_view>()> next;
    // Or a coroutine on the client's loop (a proxy relaying a downstream body), used instead of
    // next() when set, with the same contract. Backpressure: it is asked for the next piece only
    // once the last one went into the socket, and no more once the server answered with an
    // error status (an early 413) or the exchange ended.
    std::function<io::task<result<std::string_view>>()> pull;
    std::function<bool()> rewind;
    // For a chunked body: called once after its last piece; the fields go out as its trailer
    // section (checked like header fields). Views must stay valid until the request completes.
    std::function<std::span<const header_field>()> trailers;
    // With a length the body goes out with Content-Length (the source must give exactly that
    // many bytes); without one, chunked.
    std::optional<std::uint64_t> length;
};

// One request. Views must stay valid until the request completes.
struct client_request {
    std::string_view method = "GET";
    std::string_view url;  // "http://host[:port][/path][?query]"
    // Extra fields. Host, Content-Length and Transfer-Encoding are the client's; Connection:
    // close is honoured (the connection is not reused).
    std::span<const header_field> headers;
    // Every name is a token and no value holds a control character but HTAB, as in fields
    // from waitless's parser or built from them (a proxy relaying a request): the client does
    // not scan their bytes again. The fields it frames itself are refused all the same.
    bool fields_checked = false;
    std::string_view body;              // a whole body in memory (replayable)
    std::optional<body_source> source;  // or a streamed one (takes precedence over body)
    // GET, HEAD, PUT, DELETE, OPTIONS, TRACE are idempotent (RFC 9110 9.2.2); this marks
    // another method as safe to replay too.
    bool idempotent = false;
    // Lets the caller end a streamed request early; must outlive the request and its stream.
    cancel_handle* cancel = nullptr;
    // Called with each 1xx response but 101 (100 Continue, 103 Early Hints) as it arrives,
    // before the final response; its views are valid during the call only. Runs inside the
    // exchange: it must not wait or destroy anything the request uses.
    std::function<void(const message_head& interim)> on_interim;
    // The request asks to switch protocols (its fields carry Connection: upgrade and Upgrade):
    // it goes on a new connection of its own, never taken from the pool nor given back to it.
    // A 101 answer then completes client::stream(), and client_stream::take_upgraded() hands
    // the socket over; any other answer is read as usual and its connection closed after it.
    // The loop face's stream() only.
    bool upgrade = false;
};

// Receives the response body piece by piece instead of collecting it; a piece is valid during
// the call only. An error stops the exchange (the connection is reset, not reused).
using body_sink = std::function<result<void>(std::string_view piece)>;

// A complete response head and, unless a sink took it, its body. Owns its bytes.
class client_response {
  public:
    int status = 0;
    int version_minor = 1;
    std::string body;  // empty when the body went to a sink

    std::span<const header_field> headers() const { return fields_; }
    // The trailer fields of a chunked body, once the body was read (a stream's: once next()
    // gave its empty view); empty otherwise.
    std::span<const header_field> trailers() const { return trailers_; }
    // The first value of the named field (case-insensitive), if present.
    std::optional<std::string_view> find(std::string_view name) const;
    // Copies a parsed head (its views point into a connection's buffer) into this response.
    void assign_head(const message_head& head);
    // The same for the trailer fields.
    void assign_trailers(std::span<const header_field> trailers);

  private:
    // Names and values, reused by the next head when large enough; moves keep the views valid.
    struct field_storage {
        std::unique_ptr<char[]> bytes;
        std::size_t size = 0;
    };
    field_storage storage_;
    std::vector<header_field> fields_;
    field_storage trailer_storage_;
    std::vector<header_field> trailers_;
};

}  // namespace waitless::http
