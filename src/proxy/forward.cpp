// The proxy's handler: one downstream request relayed to a server the balancer picks, body
// streamed both ways with backpressure, errors answered with short clear responses.
#include "forward.hpp"

#include <sys/socket.h>

#include <array>
#include <charconv>

#include "waitless/http/error.hpp"
#include "waitless/net/error.hpp"
#include "waitless/pool/error.hpp"

namespace waitless::proxy::detail {
namespace {

bool starts_with_ci(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && http::iequals(text.substr(0, prefix.size()), prefix);
}

constexpr http::header_field text_plain[] = {{"Content-Type", "text/plain"}};

// The backend's Content-Length, unless a Transfer-Encoding overrides it (one pass, by length).
std::optional<std::uint64_t> response_length(const http::client_response& head) {
    std::optional<std::string_view> text;
    for (const auto& f : head.headers()) {
        if (f.name.size() == 17 && http::iequals(f.name, "transfer-encoding")) return std::nullopt;
        if (f.name.size() == 14 && !text && http::iequals(f.name, "content-length")) text = f.value;
    }
    if (!text) return std::nullopt;
    std::uint64_t n = 0;
    const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || p != text->data() + text->size()) return std::nullopt;
    return n;
}

// The peer's address as text ("" for a Unix socket); the worker keeps the last one formatted,
// as most requests come from the peer the one before came from.
std::string_view client_address(worker_state& w, const http::exchange& ex) {
    const auto& peer = ex.peer();
    if (!peer) return {};
    const auto a = peer->address.unmapped();
    if (a == w.last_client) return w.last_client_text;
    w.last_client = a;
    auto& out = w.last_client_text;
    if (a.family != AF_INET) {
        out = a.to_string();
        return out;
    }
    // inet_ntop formats IPv4 with sprintf.
    out.clear();
    for (int i = 0; i < 4; ++i) {
        if (i > 0) out.push_back('.');
        char digits[3];
        const auto [end, ec] = std::to_chars(digits, digits + 3, a.bytes[i]);
        out.append(digits, end);
    }
    return out;
}

// A request counted on its server from the pick to its end (every way out of an attempt).
struct outstanding_request {
    outstanding_request(balancer& b, std::size_t s) : servers(b), server(s) { b.started(s); }
    ~outstanding_request() { servers.finished(server); }
    outstanding_request(const outstanding_request&) = delete;
    outstanding_request& operator=(const outstanding_request&) = delete;
    balancer& servers;
    std::size_t server;
};

// What the body source saw of the downstream body.
struct body_state {
    std::vector<http::header_field> trailers;  // relayed after a chunked body
    std::uint64_t bytes = 0;
    bool too_large = false;
    bool failed = false;
};

}  // namespace

io::task<void> reply(http::exchange& ex, int status, std::string_view body,
                     std::optional<std::chrono::milliseconds> retry_after) {
    if (ex.responded()) {
        ex.abort();
        co_return;
    }
    std::string seconds;
    std::array<http::header_field, 2> fields{text_plain[0]};
    std::size_t count = 1;
    if (retry_after) {
        const auto s =
            std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(*retry_after).count());
        seconds = std::to_string(s);
        fields[count++] = {"Retry-After", seconds};
    }
    if (!ex.start(status, std::span(fields.data(), count), body.size())) co_return;
    if (!co_await ex.write(body)) co_return;
    ex.end();
}

http::client_options client_options_for(const options& o) {
    http::client_options co;
    co.max_connections_per_origin = o.max_connections_per_upstream;
    co.connect.timeout = o.upstream_connect_timeout;
    co.connect.source_addresses = o.source_addresses;
    co.connect.local_port_range = o.local_port_range;
    co.response_header_timeout = o.upstream_header_timeout;
    co.request_timeout = o.total_timeout;
    co.idle_timeout = o.upstream_idle_timeout;
    co.keep_alive_margin = o.upstream_keep_alive_margin;
    co.max_uses = o.upstream_max_uses;
    co.max_lifetime = o.upstream_max_lifetime;
    co.acquire_timeout = o.upstream_connect_timeout + std::chrono::seconds(5);
    return co;
}

worker_state::worker_state(const shared_config& c, io::loop& l, worker_counters& k,
                           std::size_t index)
    : config(c),
      event_loop(l),
      counters(k),
      client(l, client_options_for(c.o)),
      servers(c.o.upstreams, c.o.balance, c.o.health, index * 0x9e3779b97f4a7c15ULL + 1),
      budget(c.o.retry_budget_ratio) {}

std::unique_ptr<exchange_scratch> worker_state::take_scratch() {
    if (spare_scratch.empty()) return std::make_unique<exchange_scratch>();
    auto s = std::move(spare_scratch.back());
    spare_scratch.pop_back();
    return s;
}

void worker_state::give_scratch(std::unique_ptr<exchange_scratch> s) {
    // Enough for the exchanges a worker usually has under way; a burst's extra go.
    constexpr std::size_t kept = 256;
    if (spare_scratch.size() < kept) spare_scratch.push_back(std::move(s));
}

void worker_state::publish() {
    const auto s = client.stats();
    std::uint64_t connects = 0;
    const auto as_counter = [](const std::optional<std::chrono::milliseconds>& ms) {
        return ms ? static_cast<std::uint64_t>(ms->count()) + 1 : 0;
    };
    for (std::size_t i = 0; i < config.o.upstreams.size(); ++i) {
        const auto key = config.o.upstreams[i].authority();
        if (auto p = client.pool_stats(key)) connects += p->created;
        if (auto idle = client.idle_timeout(key)) {
            auto& u = counters.per_upstream[i];
            u.learned.set(as_counter(idle->learned));
            u.advertised.set(as_counter(idle->advertised));
            u.idle_closes.set(idle->idle_closes);
        }
    }
    counters.upstream_connects.set(connects);
    counters.upstream_requests.set(s.requests);
    counters.upstream_reused.set(s.reused);
    counters.upstream_retries.set(s.retries);
    counters.upstream_stale.set(s.stale);
    counters.upstream_closed_time_wait_here.set(s.closed_time_wait_here);
    counters.upstream_closed_time_wait_peer.set(s.closed_time_wait_peer);
    counters.upstream_closed_reset.set(s.closed_reset);
    counters.upstream_keep_alive_expired.set(s.keep_alive_expired);
    counters.upstream_too_idle_to_risk.set(s.too_idle_to_risk);
    counters.ejections.set(servers.ejections());
}

std::string_view origin_target(const http::message_head& head) {
    if (head.form != http::target_form::absolute) return head.target;
    auto t = head.target;
    const auto scheme = t.find("://");
    if (scheme != std::string_view::npos) t.remove_prefix(scheme + 3);
    const auto path = t.find_first_of("/?");
    if (path == std::string_view::npos) return "/";
    t.remove_prefix(path);
    return t;  // "?q" alone is completed with "/" by the caller
}

namespace {

// The field names the proxy treats apart, found by length first: most names are none of them.
enum class field_kind {
    other,
    hop_by_hop,  // never crosses a proxy (RFC 9110 7.6.1), or framing the next hop redoes
    connection,  // hop-by-hop, and it may name more fields that are
    upgrade,     // hop-by-hop, but kept in the upgrade the proxy makes
    host,
    date,
    expect,
    forwarded,
    x_forwarded_for,
    x_forwarded_proto
};

field_kind kind_of(std::string_view name) {
    using enum field_kind;
    const auto is = [name](std::string_view n, field_kind k) {
        return http::iequals(name, n) ? k : other;
    };
    // Proxy-Connection, Proxy-Authorization, ...: the first letter rules out most names.
    if (!name.empty() && (name[0] | 0x20) == 'p' && starts_with_ci(name, "proxy-")) {
        return hop_by_hop;
    }
    switch (name.size()) {
        case 2:
            return is("te", hop_by_hop);
        case 4:
            return http::iequals(name, "host") ? host : is("date", date);
        case 6:
            return is("expect", expect);
        case 7:
            return is("upgrade", upgrade);
        case 9:
            return is("forwarded", forwarded);
        case 10:
            return http::iequals(name, "connection") ? connection : is("keep-alive", hop_by_hop);
        case 14:
            return is("content-length", hop_by_hop);
        case 15:
            return is("x-forwarded-for", x_forwarded_for);
        case 17:
            return http::iequals(name, "transfer-encoding")
                       ? hop_by_hop
                       : is("x-forwarded-proto", x_forwarded_proto);
        default:
            return other;
    }
}

bool always_hop_by_hop(std::string_view name) {
    const auto k = kind_of(name);
    return k == field_kind::hop_by_hop || k == field_kind::connection || k == field_kind::upgrade;
}

// Whether a Connection field names only fields that never cross anyway ("keep-alive").
bool names_only_hop_by_hop(std::string_view list) {
    if (http::iequals(list, "keep-alive")) return true;  // most responses' own, at once
    return !http::any_list_item(
        list, [](std::string_view item) { return !item.empty() && !always_hop_by_hop(item); });
}

// A message's fields from `at` on when the field there is a Connection field that names more
// than always_hop_by_hop() drops; empty otherwise. The builders below go over the fields once
// without looking for names a Connection field lists, and start over with them in this rare case.
std::span<const http::header_field> naming_more(std::span<const http::header_field> all,
                                                std::size_t at) {
    return names_only_hop_by_hop(all[at].value) ? std::span<const http::header_field>{}
                                                : all.subspan(at);
}

}  // namespace

bool hop_by_hop(std::string_view name, std::span<const http::header_field> fields) {
    if (always_hop_by_hop(name)) return true;
    for (const auto& f : fields) {
        if (http::iequals(f.name, "connection") && http::list_has_token(f.value, name)) return true;
    }
    return false;
}

bool asks_to_upgrade(const http::message_head& head) {
    return head.version_minor == 1 && head.method == "GET" &&
           head.framing == http::body_framing::none && head.find("upgrade").has_value() &&
           head.has_token("connection", "upgrade");
}

namespace {

void join(std::string& list, std::string_view value) {
    if (!list.empty()) list += ", ";
    list += value;
}

// One pass of build_request_fields(). With `connection` empty, it stops at a Connection field
// that names more and returns the fields from there: the caller starts over with them.
std::span<const http::header_field> fill_request_fields(
    const http::message_head& head, std::string_view client, const options& o, request_fields& out,
    bool upgrade, std::span<const http::header_field> connection) {
    out.fields.clear();
    out.fields.reserve(head.headers.size() + 4);  // one allocation, not one per doubling
    out.x_forwarded_for.clear();
    out.forwarded.clear();
    out.host.clear();
    const bool absolute = head.form == http::target_form::absolute && !head.authority.empty();
    // A body held back for 100 Continue waits for the backend's, which the proxy relays.
    const bool expect_continue = head.expect_continue && head.framing != http::body_framing::none;
    const auto fields = head.headers;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const auto& f = fields[i];
        switch (kind_of(f.name)) {
            case field_kind::upgrade:
                if (upgrade) out.fields.push_back(f);
                continue;
            case field_kind::expect:
                if (expect_continue) out.fields.push_back({"Expect", "100-continue"});
                continue;
            case field_kind::connection:
                if (connection.empty()) {
                    if (auto more = naming_more(fields, i); !more.empty()) return more;
                }
                continue;
            case field_kind::hop_by_hop:
                continue;
            case field_kind::x_forwarded_for:
                if (!o.x_forwarded_for) break;
                join(out.x_forwarded_for, f.value);  // the views taken meanwhile are head's
                continue;
            case field_kind::forwarded:
                if (!o.forwarded) break;
                join(out.forwarded, f.value);
                continue;
            case field_kind::x_forwarded_proto:
                if (o.x_forwarded_proto) continue;
                break;
            case field_kind::host:
                if (absolute) continue;  // the target's authority replaces it
                break;
            case field_kind::date:
            case field_kind::other:
                break;
        }
        if (!connection.empty() && hop_by_hop(f.name, connection)) continue;
        out.fields.push_back(f);
    }
    if (o.x_forwarded_for && !client.empty()) join(out.x_forwarded_for, client);
    if (o.forwarded) {
        if (!out.forwarded.empty()) out.forwarded += ", ";
        if (client.empty()) {
            out.forwarded += "for=unknown";
        } else if (client.find(':') != std::string_view::npos) {
            out.forwarded += "for=\"[";
            out.forwarded += client;
            out.forwarded += "]\"";
        } else {
            out.forwarded += "for=";
            out.forwarded += client;
        }
        out.forwarded += ";proto=http";
    }
    if (absolute) {
        out.host = std::string(head.authority);
        out.fields.push_back({"Host", out.host});
    }
    if (o.x_forwarded_for && !out.x_forwarded_for.empty())
        out.fields.push_back({"X-Forwarded-For", out.x_forwarded_for});
    if (o.x_forwarded_proto) out.fields.push_back({"X-Forwarded-Proto", "http"});
    if (o.forwarded) out.fields.push_back({"Forwarded", out.forwarded});
    if (upgrade) out.fields.push_back({"Connection", "upgrade"});
    return {};
}

}  // namespace

void build_request_fields(const http::message_head& head, std::string_view client, const options& o,
                          request_fields& out, bool upgrade) {
    const auto connection = fill_request_fields(head, client, o, out, upgrade, {});
    if (!connection.empty()) fill_request_fields(head, client, o, out, upgrade, connection);
}

void build_trailer_fields(std::span<const http::header_field> trailers,
                          std::span<const http::header_field> head_fields,
                          std::vector<http::header_field>& out) {
    static constexpr std::string_view not_in_trailers[] = {"host",
                                                           "trailer",
                                                           "content-encoding",
                                                           "content-type",
                                                           "content-range",
                                                           "cache-control",
                                                           "expect",
                                                           "max-forwards",
                                                           "pragma",
                                                           "range",
                                                           "authorization",
                                                           "proxy-authorization",
                                                           "set-cookie",
                                                           "cookie",
                                                           "www-authenticate",
                                                           "proxy-authenticate",
                                                           "age",
                                                           "expires",
                                                           "date",
                                                           "location",
                                                           "retry-after",
                                                           "vary",
                                                           "warning",
                                                           "content-location"};
    out.clear();
    for (const auto& f : trailers) {
        if (hop_by_hop(f.name, head_fields) || hop_by_hop(f.name, trailers)) continue;
        bool allowed = true;
        for (auto name : not_in_trailers) {
            if (http::iequals(f.name, name)) allowed = false;
        }
        if (allowed) out.push_back(f);
    }
}

void build_response_fields(std::span<const http::header_field> response,
                           std::vector<http::header_field>& out) {
    // One pass, and a second in the rare case of a Connection field that names more.
    std::span<const http::header_field> connection;
    for (bool again = true; again;) {
        again = false;
        out.clear();
        out.reserve(response.size());
        for (std::size_t i = 0; i < response.size() && !again; ++i) {
            const auto& f = response[i];
            switch (kind_of(f.name)) {
                case field_kind::connection:
                    if (connection.empty()) {
                        connection = naming_more(response, i);
                        again = !connection.empty();
                    }
                    continue;
                case field_kind::hop_by_hop:
                case field_kind::upgrade:
                case field_kind::date:  // the server adds its own
                    continue;
                default:
                    break;
            }
            if (!connection.empty() && hop_by_hop(f.name, connection)) continue;
            out.push_back(f);
        }
    }
}

failure_kind classify(std::error_code ec) {
    if (ec == std::errc::connection_refused || ec == std::errc::host_unreachable ||
        ec == std::errc::network_unreachable || ec == std::errc::address_not_available ||
        ec == net::errc::connect_timeout || ec == pool::errc::create_failed ||
        ec == pool::errc::create_timeout || ec == http::client_errc::resolve_failed) {
        return failure_kind::connect;
    }
    if (ec == http::client_errc::response_header_timeout ||
        ec == http::client_errc::request_timeout) {
        return failure_kind::timeout;
    }
    if (ec == pool::errc::timeout || ec == pool::errc::too_many_waiters ||
        ec == pool::errc::draining) {
        return failure_kind::unavailable;
    }
    return failure_kind::bad_gateway;
}

bool lost_before_response(std::error_code ec) {
    return ec == http::client_errc::peer_closed_before_response ||
           ec == std::errc::connection_reset || ec == std::errc::broken_pipe ||
           ec == std::errc::connection_aborted;
}

bool replayable(const http::message_head& head) {
    if (head.framing != http::body_framing::none) return false;
    for (std::string_view m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
        if (head.method == m) return true;
    }
    return false;
}

io::task<void> forward(worker_state& w, http::exchange& ex) {
    const auto& o = w.config.o;
    const auto& head = ex.request();
    auto& k = w.counters;
    k.requests.add();
    w.publish_now_and_then();
    w.budget.on_request(w.event_loop.now());

    if (head.form == http::target_form::authority || head.method == "CONNECT") {
        co_await reply(ex, 501, "CONNECT is not supported by this proxy\n");
        co_return;
    }
    if (head.form == http::target_form::asterisk) {
        co_await reply(ex, 501, "OPTIONS * is not supported by this proxy\n");
        co_return;
    }
    if (o.max_body_size > 0 && head.framing == http::body_framing::content_length &&
        head.content_length > o.max_body_size) {
        k.too_large.add();
        co_await reply(ex, 413, "request body too large\n");
        co_return;
    }

    // The upstream request: views into the downstream head, valid while this handler runs.
    struct scratch_lease {
        worker_state& owner;
        std::unique_ptr<exchange_scratch> s;
        ~scratch_lease() { owner.give_scratch(std::move(s)); }
    } scratch{w, w.take_scratch()};
    const std::string client(client_address(w, ex));  // a copy: other exchanges run meanwhile
    request_fields& fields = scratch.s->request;
    const bool upgrade = asks_to_upgrade(head);
    build_request_fields(head, client, o, fields, upgrade);
    std::string_view target = origin_target(head);
    const bool query_only = target.starts_with('?');

    body_state body;
    http::client_request request;
    request.method = head.method;
    request.headers = fields.fields;
    request.fields_checked = true;  // the parser's, and values built from them
    request.upgrade = upgrade;
    // 1xx responses go to the client as they come (the server drops them for HTTP/1.0).
    std::vector<http::header_field> interim_fields;
    request.on_interim = [&ex, &interim_fields](const http::message_head& interim) {
        build_response_fields(interim.headers, interim_fields);
        (void)ex.informational(interim.status, interim_fields);
    };
    if (head.framing == http::body_framing::content_length ||
        head.framing == http::body_framing::chunked) {
        http::body_source source;
        if (head.framing == http::body_framing::content_length) source.length = head.content_length;
        source.pull = [&ex, &body, max = o.max_body_size]() -> io::task<result<std::string_view>> {
            auto piece = co_await ex.read_body();
            if (!piece) {
                body.failed = true;
                co_return std::unexpected(piece.error());
            }
            body.bytes += piece->size();
            if (max > 0 && body.bytes > max) {
                body.too_large = true;
                co_return std::unexpected(std::make_error_code(std::errc::message_size));
            }
            co_return *piece;
        };
        source.trailers = [&ex, &head, &body]() -> std::span<const http::header_field> {
            build_trailer_fields(ex.trailers(), head.headers, body.trailers);
            return body.trailers;
        };
        request.source = std::move(source);
    }

    // A client that goes away ends the upstream exchange: its pending wait ends, and the
    // connection, half used, is reset rather than pooled.
    http::cancel_handle cancel;
    request.cancel = &cancel;
    ex.on_cancel([&cancel] { cancel.cancel(); });

    std::string_view hash_key;
    if (o.balance.kind == balance_kind::hash_header) {
        hash_key = head.find(o.balance.header).value_or(std::string_view{});
    } else if (o.balance.kind == balance_kind::hash_client) {
        hash_key = client;
    }

    std::array<std::size_t, 8> tried{};
    std::size_t attempts = 0;
    bool lost_on_last = false;  // the last attempt's connection was lost before a response
    std::string& url = scratch.s->url;
    for (;;) {
        const auto at = w.event_loop.now();
        const auto picked =
            w.servers.pick(at, hash_key, std::span<const std::size_t>(tried.data(), attempts));
        if (!picked && lost_on_last) {
            k.bad_gateway.add();  // the last server tried failed, and none is left to try
            co_await reply(ex, 502, "bad gateway: the upstream server failed\n");
            co_return;
        }
        if (!picked) {
            k.unavailable.add();
            co_await reply(ex, 503, "no upstream server is available\n",
                           std::max(w.servers.retry_after(at), std::chrono::milliseconds(1000)));
            co_return;
        }
        const std::size_t server = *picked;
        url = w.config.origins[server];
        if (query_only) url += '/';
        url += target;
        request.url = url;

        // Outstanding until this attempt ends, its response relayed whole: a long download is
        // load on its server for least_request and p2c.
        const outstanding_request in_flight(w.servers, server);
        auto stream = co_await w.client.stream(request);
        if (!stream) {
            if (ex.cancelled()) {
                k.client_gone.add();
                co_return;
            }
            const auto kind = classify(stream.error());
            if (body.too_large) {
                k.too_large.add();
                co_await reply(ex, 413, "request body too large\n");
                co_return;
            }
            if (body.failed) co_return;  // the server answers the client's own error
            if (kind == failure_kind::connect) {
                w.servers.report_failure(server, clock::now());
                // Nothing reached a backend, so trying another server adds load to none:
                // each server at most once per request, without charging the retry budget.
                // When none is left, the pick above answers 503.
                if (body.bytes == 0 && attempts + 1 < tried.size()) {
                    lost_on_last = false;
                    tried[attempts++] = server;
                    k.failovers.add();
                    continue;
                }
                k.unavailable.add();
                co_await reply(
                    ex, 503, "cannot connect to an upstream server\n",
                    std::max(w.servers.retry_after(clock::now()), std::chrono::milliseconds(1000)));
                co_return;
            }
            // The client's own retry covers a reused connection's idle-close race; this one
            // covers a fresh connection lost under us (a backend that died): another server.
            if (kind == failure_kind::bad_gateway && lost_before_response(stream.error()) &&
                replayable(head) && attempts + 1 < tried.size() &&
                attempts + 1 < w.servers.servers().size() && w.budget.try_spend(clock::now())) {
                w.servers.report_failure(server, clock::now());
                lost_on_last = true;
                tried[attempts++] = server;
                k.failovers.add();
                continue;
            }
            if (kind == failure_kind::timeout) {
                k.gateway_timeouts.add();
                co_await reply(ex, 504, "upstream server timed out\n");
                co_return;
            }
            if (kind == failure_kind::unavailable) {
                k.unavailable.add();
                co_await reply(ex, 503, "upstream connections are all busy\n",
                               std::chrono::milliseconds(1000));
                co_return;
            }
            k.bad_gateway.add();
            co_await reply(ex, 502, "bad gateway: the upstream server failed\n");
            co_return;
        }
        if (ex.cancelled()) {
            k.client_gone.add();
            co_return;  // dropping the stream resets its connection
        }

        const auto& response = stream->head();
        if (response.status == 101) {
            w.servers.report_success(server);
            co_await switch_protocols(w, ex, *stream);
            co_return;
        }
        if (response.status >= 500) {
            w.servers.report_failure(server, clock::now());
        } else {
            w.servers.report_success(server);
        }
        std::vector<http::header_field>& out_fields = scratch.s->response;
        build_response_fields(response.headers(), out_fields);
        // The backend's fields, as its response's parser checked them.
        if (!ex.start(response.status, out_fields, response_length(response), true)) {
            k.bad_gateway.add();
            co_await reply(ex, 502, "bad gateway: the upstream response cannot be relayed\n");
            co_return;
        }
        k.responses_relayed.add();
        for (;;) {
            auto piece = co_await stream->next();
            if (!piece && ex.cancelled()) {
                k.client_gone.add();
                co_return;
            }
            if (!piece) {
                k.cut_short.add();
                ex.abort();
                co_return;
            }
            if (piece->empty()) break;
            if (!co_await ex.write(*piece)) co_return;  // the client left: the stream resets
        }
        build_trailer_fields(response.trailers(), response.headers(), out_fields);
        if (!ex.end(out_fields)) ex.end();
        co_return;
    }
}

}  // namespace waitless::proxy::detail
