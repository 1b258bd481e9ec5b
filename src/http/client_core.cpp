// The request path shared by both client faces, and the per-origin connection factory.
#include "client_core.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <asio/this_coro.hpp>
#include <cstring>
#include <limits>

#include "waitless/net/connect.hpp"
#include "waitless/net/stale.hpp"

namespace waitless::http::detail {
namespace {

void bump(std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }

bool connection_failure(std::error_code ec) {
    return ec == client_errc::peer_closed_before_response || connection_lost(ec);
}

pool::options pool_options_for(const client_options& o) {
    using pool::duration;
    pool::options p;
    p.max = o.max_connections_per_origin;
    p.acquire_timeout = o.acquire_timeout;
    // The connect has its own timeout; the margin covers name resolution.
    p.create_timeout = o.connect.timeout + std::chrono::seconds(5);
    p.destroy_timeout = o.peer_close_wait + std::chrono::seconds(1);
    p.idle_timeout = o.idle_timeout;
    p.max_lifetime = duration::zero();  // retirement is the client's: Connection: close
    p.max_uses = 0;
    p.order = pool::order::lifo;
    return p;
}

}  // namespace

connection_factory::connection_factory(std::string host, std::uint16_t port,
                                       const client_options& options,
                                       std::shared_ptr<client_counters> counters)
    : host_(std::move(host)),
      port_(port),
      connect_(options.connect),
      limits_(options.limits),
      peer_close_wait_(options.peer_close_wait),
      counters_(std::move(counters)) {
    connect_.non_blocking = true;
}

result<net::endpoint> connection_factory::resolve() const {
    if (auto literal = core::ip_address::parse(host_)) return net::endpoint{*literal, port_};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host_.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
        return std::unexpected(make_error_code(client_errc::resolve_failed));
    }
    net::endpoint out{};
    out.port = port_;
    if (found->ai_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
        out.address = core::ip_address::v4(in->sin_addr.s_addr);
    } else {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(found->ai_addr);
        std::uint8_t bytes[16];
        std::memcpy(bytes, &in6->sin6_addr, 16);
        out.address = core::ip_address::v6(bytes);
    }
    ::freeaddrinfo(found);
    return out;
}

result<connection_ptr> connection_factory::create() {
    auto remote = resolve();
    if (!remote) return std::unexpected(remote.error());
    auto s = net::connect(*remote, connect_);
    if (!s) return std::unexpected(s.error());
    auto c = std::make_unique<client_connection>(std::move(*s), remote->address.family, limits_,
                                                 pool::coarse_now());
    c->set_peer_close_wait(peer_close_wait_);
    return c;
}

void connection_factory::destroy(connection_ptr& c) {
    if (!c) return;
    auto outcome = c->close();
    c.reset();
    if (!outcome) return;
    switch (*outcome) {
        case net::close_outcome::time_wait_here:
            bump(counters_->time_wait_here);
            break;
        case net::close_outcome::time_wait_peer:
            bump(counters_->time_wait_peer);
            break;
        case net::close_outcome::reset:
            bump(counters_->reset);
            break;
        case net::close_outcome::not_tcp:
            break;
    }
}

client_core::client_core(client_options options, bool shared)
    : options_(std::move(options)),
      shared_(shared),
      counters_(std::make_shared<client_counters>()) {
    pool::check(pool_options_for(options_));  // bad options throw now, not at first use
}

origin& client_core::origin_for(const parsed_url& url) {
    std::unique_lock lock(mutex_, std::defer_lock);
    if (shared_) lock.lock();
    for (const auto& o : origins_) {
        if (o->key == url.authority) return *o;
    }
    origins_.push_back(std::make_unique<origin>(
        std::string(url.authority),
        connection_factory(std::string(url.host), url.port, options_, counters_),
        pool_options_for(options_)));
    return *origins_.back();
}

asio::awaitable<result<pool::lease<connection_ptr>>> client_core::acquire(origin& o,
                                                                          bool fresh_only) {
    for (;;) {
        auto l = co_await o.connections.co_acquire();
        if (!l) co_return l;
        client_connection& c = ***l;
        if (c.uses() == 0) co_return l;
        if (fresh_only) {
            // Idle since before a reused sibling failed: likely dead too, and the retry wants a
            // new connection. Closed by RST: no TIME_WAIT.
        } else if (pool::coarse_now() >= c.reuse_deadline()) {
            bump(counters_->keep_alive_expired);
        } else if (net::check_liveness(c.native_handle()) != net::liveness::alive) {
            bump(counters_->stale);
        } else {
            co_return l;
        }
        c.set_close_mode(close_mode::idle);
        l->invalidate();
    }
}

asio::awaitable<result<client_response>> client_core::run(const client_request& r,
                                                          const body_sink* sink, bool unbind) {
    auto fail = [this](std::error_code ec) -> result<client_response> {
        bump(counters_->failures);
        return std::unexpected(ec);
    };
    auto url = parse_url(r.url);
    if (!url) co_return fail(url.error());
    if (!valid_method(r.method)) co_return fail(make_error_code(client_errc::invalid_request));
    auto fields = check_fields(r.headers);
    if (!fields) co_return fail(fields.error());
    origin& o = origin_for(*url);
    const auto ex = co_await asio::this_coro::executor;

    exchange_plan plan;
    plan.request = &r;
    plan.sink = sink;
    plan.target = url->target;
    plan.host = o.key;
    plan.add_host = !fields->has_host;
    plan.caller_close = fields->asks_close;
    plan.max_body =
        sink != nullptr ? std::numeric_limits<std::uint64_t>::max() : options_.max_response_body;
    plan.header_timeout = options_.response_header_timeout;
    plan.keep_alive_margin = options_.keep_alive_margin;

    bool retried = false;
    for (;;) {
        auto l = co_await acquire(o, retried);
        if (!l) co_return fail(l.error());
        client_connection& c = ***l;
        c.bind(ex);
        const auto now = pool::coarse_now();
        const bool reused = c.uses() > 0;
        if (reused) bump(counters_->reused);
        plan.close = (options_.max_uses > 0 && c.uses() + 1 >= options_.max_uses) ||
                     (options_.max_lifetime.count() > 0 && now - c.born() >= options_.max_lifetime);
        if (plan.close) bump(counters_->retired);
        plan.deadline = pool::add_saturated(now, options_.request_timeout);

        // Should a sink or source throw, the connection is in an unknown state: reset it.
        struct on_throw {
            pool::lease<connection_ptr>* lease;
            ~on_throw() {
                if (lease == nullptr) return;
                (**lease)->set_close_mode(close_mode::reset);
                lease->invalidate();
            }
        } guard{&*l};
        client_response response;
        auto out = co_await c.exchange(plan, response);
        guard.lease = nullptr;
        if (unbind) c.unbind();
        if (!out.error) {
            if (out.reusable) {
                l->release();
            } else {
                c.set_close_mode(out.mode);
                l->invalidate();
            }
            bump(counters_->requests);
            co_return response;
        }
        c.set_close_mode(out.mode);
        l->invalidate();
        if (options_.retry_once && !retried && reused && !out.response_started &&
            connection_failure(out.error) && is_replayable(r)) {
            if (r.source && !r.source->rewind()) co_return fail(out.error);
            retried = true;
            bump(counters_->retries);
            continue;
        }
        co_return fail(out.error);
    }
}

client_stats client_core::stats() const {
    const auto& k = *counters_;
    auto get = [](const std::atomic<std::uint64_t>& a) {
        return a.load(std::memory_order_relaxed);
    };
    client_stats s;
    s.requests = get(k.requests);
    s.failures = get(k.failures);
    s.retries = get(k.retries);
    s.reused = get(k.reused);
    s.stale = get(k.stale);
    s.keep_alive_expired = get(k.keep_alive_expired);
    s.retired = get(k.retired);
    s.closed_time_wait_here = get(k.time_wait_here);
    s.closed_time_wait_peer = get(k.time_wait_peer);
    s.closed_reset = get(k.reset);
    return s;
}

std::optional<pool::stats> client_core::pool_stats(std::string_view key) const {
    std::unique_lock lock(mutex_, std::defer_lock);
    if (shared_) lock.lock();
    for (const auto& o : origins_) {
        if (o->key == key) return o->connections.stats();
    }
    return std::nullopt;
}

}  // namespace waitless::http::detail
