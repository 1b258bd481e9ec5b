// The proxy's request path: what a worker holds (its client, balancer, counters) and the
// handler that relays one exchange, plus the field rewriting it uses (tested on its own).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "waitless/core/address.hpp"
#include "waitless/http/client.hpp"
#include "waitless/http/exchange.hpp"
#include "waitless/http/message.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/proxy/balancer.hpp"
#include "waitless/proxy/proxy.hpp"

namespace waitless::proxy::detail {

// Written by one worker thread, read by any.
class counter {
  public:
    void add() {
        value_.store(value_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    void set(std::uint64_t v) { value_.store(v, std::memory_order_relaxed); }
    std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

// One upstream server's idle timeout as one worker knows it: milliseconds plus one, 0: none.
struct upstream_idle_counters {
    counter learned, advertised, idle_closes;
};

struct worker_counters {
    explicit worker_counters(std::size_t upstreams) : per_upstream(upstreams) {}

    counter requests, responses_relayed, unavailable, bad_gateway, gateway_timeouts, too_large,
        failovers, cut_short, client_gone, tunnels;
    // Published by the worker now and then and when it stops (its client's figures).
    counter ejections, upstream_connects, upstream_requests, upstream_reused, upstream_retries,
        upstream_stale, upstream_closed_time_wait_here, upstream_closed_time_wait_peer,
        upstream_closed_reset, upstream_keep_alive_expired, upstream_too_idle_to_risk;
    std::vector<upstream_idle_counters> per_upstream;  // sized once, never moved
};

// What every worker reads and nobody writes once the proxy runs.
struct shared_config {
    options o;
    std::vector<std::string> origins;  // "http://host:port" per upstream server
};

// The upstream client's options from the proxy's.
http::client_options client_options_for(const options& o);

// The upstream request's fields and the joined values they point into (build_request_fields).
struct request_fields {
    std::vector<http::header_field> fields;
    std::string x_forwarded_for, forwarded, host;
};

// What one exchange builds: the upstream request's fields and URL, the response's fields. The
// worker keeps them between exchanges, so their memory is reused rather than allocated anew.
struct exchange_scratch {
    request_fields request;
    std::string url;
    std::vector<http::header_field> response;
};

// One worker's own state, made and destroyed on its thread.
struct worker_state {
    worker_state(const shared_config& c, io::loop& l, worker_counters& k, std::size_t index);
    // Copies the client's figures into the counters (each second from the request path, and
    // when the worker stops).
    void publish();
    void publish_now_and_then() {
        if (event_loop.now() - last_publish < std::chrono::seconds(1)) return;
        last_publish = event_loop.now();
        publish();
    }

    const shared_config& config;
    io::loop& event_loop;
    io::clock::time_point last_publish{};
    worker_counters& counters;
    http::client client;
    balancer servers;
    retry_budget budget;
    // The last client address formatted (forward.cpp's client_address).
    core::ip_address last_client;
    std::string last_client_text;
    // Scratch not in use; each exchange under way holds one of its own (they interleave).
    std::vector<std::unique_ptr<exchange_scratch>> spare_scratch;
    std::unique_ptr<exchange_scratch> take_scratch();
    void give_scratch(std::unique_ptr<exchange_scratch> s);
};

// A short clear answer of the proxy's own (text/plain); when a response was started already,
// the client connection is reset instead.
io::task<void> reply(http::exchange& ex, int status, std::string_view body,
                     std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

// Relays one exchange to a server the balancer picks.
io::task<void> forward(worker_state& w, http::exchange& ex);
// The backend answered an upgrade request with 101: relay the 101 and become a tunnel between
// the client and the backend until both are done (upgrade.cpp).
io::task<void> switch_protocols(worker_state& w, http::exchange& ex, http::client_stream& stream);

// The request target in origin form: an absolute-form target gives its path and query ("/"
// when it has none).
std::string_view origin_target(const http::message_head& head);

// Whether a field must not cross the proxy: hop-by-hop (Connection and the fields it names,
// Keep-Alive, TE, Upgrade, Proxy-*) or framing (Content-Length, Transfer-Encoding, which the
// next hop's writer sets). `fields`: the message's fields, or only those from a Connection
// field that names more on.
bool hop_by_hop(std::string_view name, std::span<const http::header_field> fields);

// Whether the request asks for a tunnel the proxy makes (RFC 9110 7.8): an HTTP/1.1 GET
// without a body, with Upgrade and Connection: upgrade. Any other request's Upgrade is dropped
// and it is relayed as a plain one.
bool asks_to_upgrade(const http::message_head& head);

// The fields sent upstream: the request's minus hop-by-hop, Expect other than a 100-continue
// announcing a body, and the forwarding fields it rewrites; then X-Forwarded-For (appended to
// the client's), X-Forwarded-Proto and Forwarded (appended) as the options say; with
// `upgrade`, Upgrade and Connection: upgrade. `client` is the downstream peer's address ("" for
// a Unix socket). Views point into head and into `out`'s strings.
void build_request_fields(const http::message_head& head, std::string_view client, const options& o,
                          request_fields& out, bool upgrade = false);

// The trailer fields relayed: those of `trailers` a sender may put in a trailer section (RFC
// 9110 6.5.1: no framing, routing, control, authentication or content fields) and that are
// not hop-by-hop (by the message's own Connection field among `head_fields`).
void build_trailer_fields(std::span<const http::header_field> trailers,
                          std::span<const http::header_field> head_fields,
                          std::vector<http::header_field>& out);

// The fields relayed downstream: the response's minus hop-by-hop and Date (the server adds
// its own).
void build_response_fields(std::span<const http::header_field> response,
                           std::vector<http::header_field>& out);

// Failures before a response head, by what the client should be told.
enum class failure_kind { connect, timeout, unavailable, bad_gateway };
failure_kind classify(std::error_code ec);
// The upstream connection closed or was reset before any response byte: a request that may be
// replayed can go to another server (within the retry budget).
bool lost_before_response(std::error_code ec);
// An idempotent method (RFC 9110 9.2.2) and no body: replaying it is safe.
bool replayable(const http::message_head& head);

}  // namespace waitless::proxy::detail
