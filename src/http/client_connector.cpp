// Connects and closes for the client's pools.
#include "client_connector.hpp"

#include <algorithm>
#include <random>

#include "waitless/net/connect.hpp"
#include "waitless/net/error.hpp"
#include "waitless/pool/clock.hpp"

namespace waitless::http::detail {
namespace {

// splitmix64 over a per-thread state seeded once from the system: cheap, and threads differ.
std::uint64_t next_random() {
    thread_local std::uint64_t state =
        (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

connection_ptr wrap(net::socket s, const origin_settings& st) {
    const auto now = pool::coarse_now();
    auto c = std::make_unique<client_connection>(std::move(s), st.limits, now);
    c->set_peer_close_wait(st.peer_close_wait);
    c->set_learner(st.idle);
    if (st.max_lifetime.count() > 0) {
        c->set_retire_at(now +
                         jittered_lifetime(st.max_lifetime, st.lifetime_jitter, next_random()));
    }
    return c;
}

io::task<void> close_later(connection_ptr c, std::shared_ptr<client_counters> k) {
    count_close(*k, co_await c->close_on_loop());
}

}  // namespace

pool::duration jittered_lifetime(pool::duration max_lifetime, double jitter, std::uint64_t random) {
    jitter = std::clamp(jitter, 0.0, 1.0);
    // The top 53 bits as a fraction in [0, 1).
    const double u = static_cast<double>(random >> 11) * 0x1.0p-53;
    const auto cut =
        static_cast<pool::duration::rep>(static_cast<double>(max_lifetime.count()) * jitter * u);
    return max_lifetime - pool::duration(cut);
}

void count_close(client_counters& k, const result<net::close_outcome>& outcome) {
    if (!outcome) return;
    switch (*outcome) {
        case net::close_outcome::time_wait_here:
            bump(k.time_wait_here);
            break;
        case net::close_outcome::time_wait_peer:
            bump(k.time_wait_peer);
            break;
        case net::close_outcome::reset:
            bump(k.reset);
            break;
        case net::close_outcome::not_tcp:
            break;
    }
}

io::task<result<connection_ptr>> loop_connector::create() {
    const auto st = settings_;  // this factory may be moved while the create runs
    io::loop& l = *loop_;
    auto addresses = co_await st->names->resolve(l, st->host);
    if (!addresses) co_return std::unexpected(addresses.error());
    std::error_code last = make_error_code(client_errc::resolve_failed);
    for (const auto& ip : *addresses) {
        const net::endpoint remote{ip, st->port};
        auto s = net::open_for_connect(remote, st->connect, next_source_++);
        if (!s) {
            last = s.error();
            continue;
        }
        auto started = net::start_connect(*s, remote);
        if (!started) {
            last = started.error();
            continue;
        }
        auto c = wrap(std::move(*s), *st);
        c->set_close_mode(close_mode::reset);  // until connected: nothing to keep
        if (auto added = c->attach(l); !added) {
            last = added.error();
            continue;
        }
        if (!*started) {
            auto& w = c->watch();
            w.writable = false;  // in progress: the connect's edge says when it ends
            if (st->connect.timeout.count() > 0) {
                w.set_deadline(std::chrono::steady_clock::now() + st->connect.timeout);
            }
            auto ec = co_await w.wait(true);
            w.clear_deadline();
            if (ec == std::errc::timed_out) ec = make_error_code(net::errc::connect_timeout);
            if (!ec) {
                if (auto done = net::connect_error(c->native_handle()); !done) ec = done.error();
            }
            if (ec) {
                last = ec;
                continue;
            }
        }
        c->set_close_mode(close_mode::idle);
        co_return c;
    }
    co_return std::unexpected(last);
}

void loop_connector::destroy(connection_ptr& c) {
    if (!c) return;
    // Idle on this loop, and the server's close would have been seen: it kept the connection
    // at least this long.
    if (c->idle_since() != pool::time_point{} && !c->peer_closed() && !c->advertised() &&
        c->learner() != nullptr && c->watch().owner() != nullptr) {
        c->learner()->alive(pool::coarse_now() - c->idle_since());
    }
    if (c->mode() == close_mode::peer_first && c->watch().owner() != nullptr) {
        io::spawn(close_later(std::move(c), settings_->counters));
        return;
    }
    count_close(*settings_->counters, c->close());
    c.reset();
}

result<connection_ptr> blocking_connector::create() {
    const auto& st = *settings_;
    auto addresses = st.names->resolve_blocking(st.host);
    if (!addresses) return std::unexpected(addresses.error());
    net::connect_options options = st.connect;
    options.non_blocking = true;
    std::error_code last = make_error_code(client_errc::resolve_failed);
    for (const auto& ip : *addresses) {
        auto s = net::connect(net::endpoint{ip, st.port}, options);
        if (s) return wrap(std::move(*s), st);
        last = s.error();
    }
    return std::unexpected(last);
}

void blocking_connector::destroy(connection_ptr& c) {
    if (!c) return;
    count_close(*settings_->counters, c->close());  // idle: in no loop
    c.reset();
}

}  // namespace waitless::http::detail
