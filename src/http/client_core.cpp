// The request path shared by both client faces, and the per-origin pools of each face.
#include "client_core.hpp"

#include <limits>

#include "waitless/pool/loop_pool.hpp"
#include "waitless/pool/pool.hpp"

namespace waitless::http::detail {
namespace {

bool connection_failure(std::error_code ec) {
    return ec == client_errc::peer_closed_before_response || connection_lost(ec);
}

pool::options pool_options_for(const client_options& o) {
    using pool::duration;
    pool::options p;
    p.max = o.max_connections_per_origin;
    p.acquire_timeout = o.acquire_timeout;
    // Each address has the connect timeout; the margin covers name resolution.
    p.create_timeout = o.connect.timeout + std::chrono::seconds(5);
    p.destroy_timeout = o.peer_close_wait + std::chrono::seconds(1);
    p.idle_timeout = o.idle_timeout;
    p.max_lifetime = duration::zero();  // retirement is the client's: Connection: close
    p.max_uses = 0;
    p.order = pool::order::lifo;
    return p;
}

class loop_origin final : public origin {
  public:
    loop_origin(std::string k, io::loop& l, loop_connector c, const pool::options& po)
        : origin(std::move(k)), own_(c), pool_(l, std::move(c), po) {}
    io::task<result<connection_lease>> acquire() override { co_return co_await pool_.acquire(); }
    std::optional<connection_lease> take_idle() override {
        auto l = pool_.try_acquire();
        if (!l) return std::nullopt;
        return std::move(*l);
    }
    pool::stats stats() const override { return pool_.stats(); }
    io::task<result<connection_ptr>> connect() override { co_return co_await own_.create(); }
    void discard(connection_ptr& c) override { own_.destroy(c); }
    void clear() override { pool_.clear(); }

  private:
    loop_connector own_;  // for connections outside the pool
    pool::loop_pool<connection_ptr, loop_connector> pool_;
};

class shared_origin final : public origin {
  public:
    shared_origin(std::string k, blocking_connector c, const pool::options& po)
        : origin(std::move(k)), pool_(std::move(c), po) {}
    // Blocks the calling thread, whose private loop has nothing else to do meanwhile.
    io::task<result<connection_lease>> acquire() override { co_return pool_.acquire(); }
    std::optional<connection_lease> take_idle() override { return std::nullopt; }
    pool::stats stats() const override { return pool_.stats(); }
    // Upgrades are the loop face's only.
    io::task<result<connection_ptr>> connect() override {
        co_return std::unexpected(std::make_error_code(std::errc::operation_not_supported));
    }
    void discard(connection_ptr& c) override { c.reset(); }
    void clear() override { pool_.clear(); }

  private:
    pool::pool<connection_ptr, blocking_connector> pool_;
};

}  // namespace

client_core::client_core(client_options options, io::loop* loop)
    : options_(std::move(options)),
      loop_(loop),
      counters_(std::make_shared<client_counters>()),
      names_(std::make_shared<resolver>(options_.resolve_cache_ttl)) {
    pool::check(pool_options_for(options_));  // bad options throw now, not at first use
}

std::shared_ptr<origin> client_core::make_origin(const parsed_url& url) {
    auto st = std::make_shared<origin_settings>();
    st->host = std::string(url.host);
    st->port = url.port;
    st->connect = options_.connect;
    st->limits = options_.limits;
    st->peer_close_wait = options_.peer_close_wait;
    st->max_lifetime = options_.max_lifetime;
    st->lifetime_jitter = options_.lifetime_jitter;
    st->counters = counters_;
    st->names = names_;
    st->idle = std::make_shared<idle_learner>(loop_ == nullptr);
    std::string key(url.authority);
    std::shared_ptr<origin> made;
    if (loop_ != nullptr) {
        made = std::make_shared<loop_origin>(std::move(key), *loop_, loop_connector(*loop_, st),
                                             pool_options_for(options_));
    } else {
        made = std::make_shared<shared_origin>(std::move(key), blocking_connector(st),
                                               pool_options_for(options_));
    }
    made->idle = st->idle;
    return made;
}

result<std::shared_ptr<origin>> client_core::origin_for(std::string_view url,
                                                        std::string_view& target) {
    std::unique_lock lock(mutex_, std::defer_lock);
    if (loop_ == nullptr) lock.lock();
    const auto now = pool::coarse_now();
    if (now - last_sweep_ >= std::chrono::seconds(1)) sweep(now);
    // A known origin's URL as the client writes it (a proxy's every request): only the target
    // is left to check. Anything else is parsed whole.
    for (const auto& o : origins_) {
        if (!url.starts_with(o->url_prefix)) continue;
        const auto rest = url.substr(o->url_prefix.size());
        if (!rest.empty() && rest.front() != '/') continue;  // a longer port, or "?q" (invalid)
        auto t = parse_url_target(rest);
        if (!t) return std::unexpected(t.error());
        target = *t;
        o->last_used = now;
        return o;
    }
    auto parsed = parse_url(url);
    if (!parsed) return std::unexpected(parsed.error());
    target = parsed->target;
    for (const auto& o : origins_) {
        if (o->key == parsed->authority) {  // a scheme written in capitals
            o->last_used = now;
            return o;
        }
    }
    origins_.push_back(make_origin(*parsed));
    origins_.back()->last_used = now;
    return origins_.back();
}

void client_core::sweep(pool::time_point now) {
    last_sweep_ = now;
    names_->prune();
    std::erase_if(origins_, [&](const std::shared_ptr<origin>& o) {
        if (now - o->last_used < options_.origin_idle_timeout) return false;
        const auto st = o->stats();
        return st.size == 0 && st.pending == 0;
    });
}

bool client_core::idle_fits(const origin& o, const client_connection& c, pool::time_point now,
                            bool replayable) {
    // An advertised timeout wins over what is learned.
    if (c.advertised()) {
        if (now < c.reuse_deadline()) return true;
        bump(counters_->keep_alive_expired);
        return false;
    }
    const auto idle = now - c.idle_since();
    const auto margin = pool::duration(options_.keep_alive_margin);
    // Past a learned timeout minus the margin: no request takes it.
    const auto known = o.idle->reuse_limit(true, margin, now);
    if (known != pool::duration::max()) {
        if (idle < known) return true;
        bump(counters_->keep_alive_expired);
        return false;
    }
    if (replayable || idle < o.idle->reuse_limit(false, margin, now)) return true;
    bump(counters_->too_idle_to_risk);
    return false;
}

io::task<result<connection_lease>> client_core::acquire(origin& o, bool fresh_only,
                                                        bool replayable) {
    // Usually an idle connection fits, and no coroutine is needed to get it.
    if (auto idle = take_idle(o, fresh_only, replayable)) {
        return io::task<result<connection_lease>>::ready(std::move(*idle));
    }
    return acquire_waiting(o, fresh_only, replayable);
}

io::task<result<connection_lease>> client_core::acquire_waiting(origin& o, bool fresh_only,
                                                                bool replayable) {
    for (;;) {
        auto l = co_await o.acquire();
        if (!l || fit_for_request(o, *l, fresh_only, replayable)) co_return l;
    }
}

std::optional<connection_lease> client_core::take_idle(origin& o, bool fresh_only,
                                                       bool replayable) {
    for (;;) {
        auto l = o.take_idle();
        if (!l || fit_for_request(o, *l, fresh_only, replayable)) return l;
    }
}

bool client_core::fit_for_request(origin& o, connection_lease& l, bool fresh_only,
                                  bool replayable) {
    client_connection& c = **l;
    if (c.uses() == 0) return true;
    const auto now = pool::coarse_now();
    if (fresh_only) {
        // Idle since before a reused sibling failed: likely dead too, and the retry wants a
        // new connection. Closed by RST: no TIME_WAIT.
    } else if (c.peer_closed()) {
        bump(counters_->stale);  // its loop saw the close come (and told the learner)
    } else if (!idle_fits(o, c, now, replayable)) {
        // closed below; the connector tells the learner it was still open
    } else if (const auto live = c.liveness(now); live != net::liveness::alive) {
        bump(counters_->stale);
        // Closed somewhere between its last use and now: now is an upper bound.
        if (!c.advertised() && live != net::liveness::unexpected_data) {
            o.idle->closed(now - c.idle_since(), now);
        }
    } else {
        if (!c.advertised()) o.idle->alive(now - c.idle_since());
        return true;
    }
    c.set_close_mode(close_mode::idle);
    l.invalidate();
    return false;
}

result<request_setup> client_core::setup(const client_request& r, const body_sink* sink,
                                         bool streamed) {
    if (!valid_method(r.method))
        return std::unexpected(make_error_code(client_errc::invalid_request));
    auto fields = check_fields(r.headers, r.fields_checked);
    if (!fields) return std::unexpected(fields.error());
    // An upgrade switches a connection with no body in flight, from the loop face only.
    if (r.upgrade && (!streamed || r.source || !r.body.empty())) {
        return std::unexpected(make_error_code(client_errc::invalid_request));
    }
    request_setup st;
    // The blocking face runs on the calling thread's private loop (io::block_on).
    st.here = loop_ != nullptr ? loop_ : io::loop::current();
    WAITLESS_ASSERT(st.here != nullptr);
    std::string_view target;
    auto o = origin_for(r.url, target);
    if (!o) return std::unexpected(o.error());
    st.o = std::move(*o);
    exchange_plan& plan = st.plan;
    plan.request = &r;
    plan.sink = sink;
    plan.target = target;
    plan.host = st.o->key;
    plan.add_host = !fields->has_host;
    plan.caller_close = fields->asks_close;
    plan.expect_continue = fields->expects_continue;
    plan.upgrade = r.upgrade;
    plan.max_body = sink != nullptr || streamed ? std::numeric_limits<std::uint64_t>::max()
                                                : options_.max_response_body;
    plan.header_timeout = options_.response_header_timeout;
    plan.keep_alive_margin = options_.keep_alive_margin;
    return st;
}

result<bool> client_core::begin(request_setup& st, connection_lease& l) {
    client_connection& c = **l;
    if (auto joined = c.attach(*st.here); !joined) {  // the blocking face's connections move
        c.set_close_mode(close_mode::reset);
        l.invalidate();
        return std::unexpected(joined.error());
    }
    const auto now = pool::coarse_now();
    const bool reused = c.uses() > 0;
    if (reused) bump(counters_->reused);
    st.plan.close =
        (options_.max_uses > 0 && c.uses() + 1 >= options_.max_uses) || now >= c.retire_at();
    if (st.plan.close) bump(counters_->retired);
    st.plan.deadline = pool::add_saturated(now, options_.request_timeout);
    return reused;
}

void client_core::settle(connection_lease& l, const exchange_outcome& out) {
    client_connection& c = **l;
    // A blocking face's connection leaves this thread's loop: a pool thread may close it,
    // another thread's loop run it next.
    if (loop_ == nullptr) c.detach();
    if (!out.error && out.reusable) {
        l.release();
        return;
    }
    c.set_close_mode(out.mode);
    l.invalidate();
}

bool client_core::retry(const client_request& r, const exchange_outcome& out, bool reused,
                        bool& retried) {
    if (!options_.retry_once || retried || !reused || out.response_started ||
        !connection_failure(out.error) || !is_replayable(r)) {
        return false;
    }
    if (r.source && !r.source->rewind()) return false;
    retried = true;
    bump(counters_->retries);
    return true;
}

std::error_code client_core::failed(std::error_code ec) {
    bump(counters_->failures);
    return ec;
}

io::task<result<client_response>> client_core::run(const client_request& r, const body_sink* sink) {
    auto st = setup(r, sink, false);
    if (!st) co_return std::unexpected(failed(st.error()));
    bool retried = false;
    for (;;) {
        auto l = co_await acquire(*st->o, retried, is_replayable(r));
        if (!l) co_return std::unexpected(failed(l.error()));
        auto reused = begin(*st, *l);
        if (!reused) co_return std::unexpected(failed(reused.error()));

        // Should a sink or source throw, the connection is in an unknown state: reset it.
        struct on_throw {
            connection_lease* lease;
            bool leave_loop;
            ~on_throw() {
                if (lease == nullptr) return;
                (**lease)->set_close_mode(close_mode::reset);
                if (leave_loop) (**lease)->detach();
                lease->invalidate();
            }
        } guard{&*l, loop_ == nullptr};
        client_response response;
        auto out = co_await (**l)->exchange(st->plan, response);
        guard.lease = nullptr;
        settle(*l, out);
        if (!out.error) {
            bump(counters_->requests);
            co_return response;
        }
        if (retry(r, out, *reused, retried)) continue;
        co_return std::unexpected(failed(out.error));
    }
}

io::task<result<client_stream>> client_core::stream(const client_request& r) {
    WAITLESS_ASSERT(loop_ != nullptr);  // the loop face only: the stream outlives this call
    auto st = setup(r, nullptr, true);
    if (!st) co_return std::unexpected(failed(st.error()));
    if (r.upgrade) co_return co_await stream_upgrade(r, std::move(*st));
    bool retried = false;
    const auto canceled = [] { return std::make_error_code(std::errc::operation_canceled); };
    for (;;) {
        if (r.cancel != nullptr && r.cancel->cancelled_)
            co_return std::unexpected(failed(canceled()));
        auto l = co_await acquire(*st->o, retried, is_replayable(r));
        if (!l) co_return std::unexpected(failed(l.error()));
        if (r.cancel != nullptr && r.cancel->cancelled_) {
            co_return std::unexpected(failed(canceled()));  // the lease goes back unused
        }
        auto reused = begin(*st, *l);
        if (!reused) co_return std::unexpected(failed(reused.error()));
        auto s = make_stream(std::move(*st));
        s->lease = std::move(*l);
        s->outcome = co_await start_stream(*s, r);
        if (!s->outcome.error) co_return client_stream(std::move(s));
        if (r.cancel != nullptr) r.cancel->watch_ = nullptr;
        const auto out = s->outcome;
        settle(s->lease, out);
        st = std::move(s->setup);
        if (retry(r, out, *reused, retried)) continue;
        co_return std::unexpected(failed(out.error));
    }
}

io::task<exchange_outcome> client_core::start_stream(stream_state& s, const client_request& r) {
    if (r.cancel != nullptr) r.cancel->watch_ = &s.connection().watch();
    return s.connection().start_stream(s.setup.plan, s.head);
}

io::task<result<client_stream>> client_core::stream_upgrade(const client_request& r,
                                                            request_setup st) {
    if (r.cancel != nullptr && r.cancel->cancelled_) {
        co_return std::unexpected(failed(std::make_error_code(std::errc::operation_canceled)));
    }
    auto c = co_await st.o->connect();
    if (!c) co_return std::unexpected(failed(c.error()));
    st.plan.deadline = pool::add_saturated(pool::coarse_now(), options_.request_timeout);
    auto s = make_stream(std::move(st));
    s->own = std::move(*c);
    s->outcome = co_await start_stream(*s, r);
    if (!s->outcome.error) co_return client_stream(std::move(s));
    s->forget_cancel();
    s->settle();
    co_return std::unexpected(failed(s->outcome.error));
}

std::unique_ptr<stream_state> client_core::make_stream(request_setup st) {
    if (spare_streams_.empty()) return std::make_unique<stream_state>(*this, std::move(st));
    auto s = std::move(spare_streams_.back());
    spare_streams_.pop_back();
    s->setup = std::move(st);
    return s;
}

void client_core::recycle(std::unique_ptr<stream_state> s) {
    if (s->live()) s->abandon();
    // Enough for the streams a worker usually has under way; a burst's extra go.
    constexpr std::size_t kept = 256;
    if (loop_ == nullptr || spare_streams_.size() >= kept) return;
    s->setup = {};  // lets go of its origin
    s->outcome = {};
    spare_streams_.push_back(std::move(s));
}

stream_state::~stream_state() {
    if (live()) abandon();
}

result<upgraded> stream_state::take_upgraded() {
    if (!own || head.status != 101) {
        return std::unexpected(make_error_code(client_errc::protocol_switch));
    }
    forget_cancel();
    auto out = own->hand_over();
    own.reset();
    core->completed();
    return out;
}

void stream_state::forget_cancel() {
    if (setup.plan.request != nullptr && setup.plan.request->cancel != nullptr)
        setup.plan.request->cancel->watch_ = nullptr;
}

void stream_state::abandon() {
    forget_cancel();
    // Cut short: the rest of the response is unread, so the connection cannot be reused.
    connection().end_exchange();
    outcome.error = make_error_code(std::errc::operation_canceled);
    outcome.reusable = false;
    outcome.mode = close_mode::reset;
    settle();
}

void stream_state::settle() {
    if (own) {
        // Never pooled: closed by the outcome's mode (idle: an RST once drained).
        own->set_close_mode(outcome.mode);
        setup.o->discard(own);
        own.reset();
        return;
    }
    if (!connection().uploading()) {
        core->settle(lease, outcome);
        return;
    }
    // The request body's sender is still in a pull: the connection goes (never back to the
    // pool) once the sender has ended, and nothing more is sent meanwhile.
    connection().orphan_upload(
        [c = core, l = std::move(lease), out = outcome]() mutable { c->settle(l, out); });
}

io::task<result<std::string_view>> stream_state::next() {
    using done = io::task<result<std::string_view>>;
    if (!live()) return done::ready(std::string_view{});  // ended
    if (head.status == 101) {
        abandon();  // another protocol follows: take_upgraded() is the way to it
        return done::ready(
            std::unexpected(core->failed(make_error_code(client_errc::protocol_switch))));
    }
    // A piece the buffer holds already (a small body comes with its head): no coroutine.
    std::string_view piece;
    bool ended = false;
    std::optional<bool> ok;
    try {
        ok = connection().stream_piece_now(setup.plan, outcome, piece, ended);
    } catch (...) {
        abandon();
        throw;
    }
    if (!ok) return next_read();
    return done::ready(piece_done(*ok, ended, piece));
}

io::task<result<std::string_view>> stream_state::next_read() {
    std::string_view piece;
    bool ended = false;
    bool ok = false;
    try {
        ok = co_await connection().stream_piece(setup.plan, outcome, piece, ended);
    } catch (...) {
        abandon();
        throw;
    }
    co_return piece_done(ok, ended, piece);
}

result<std::string_view> stream_state::piece_done(bool ok, bool ended, std::string_view piece) {
    if (!ok || ended) {
        try {
            connection().end_exchange();
            if (!connection().uploading()) connection().rethrow_upload();  // what the source threw
        } catch (...) {
            abandon();
            throw;
        }
    }
    if (!ok) {
        forget_cancel();
        settle();
        return std::unexpected(core->failed(outcome.error));
    }
    if (ended) {
        head.assign_trailers(connection().trailers());
        forget_cancel();
        settle();
        core->completed();
        return std::string_view{};
    }
    return piece;
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
    s.too_idle_to_risk = get(k.too_idle_to_risk);
    s.retired = get(k.retired);
    s.closed_time_wait_here = get(k.time_wait_here);
    s.closed_time_wait_peer = get(k.time_wait_peer);
    s.closed_reset = get(k.reset);
    return s;
}

std::optional<pool::stats> client_core::pool_stats(std::string_view key) const {
    std::unique_lock lock(mutex_, std::defer_lock);
    if (loop_ == nullptr) lock.lock();
    for (const auto& o : origins_) {
        if (o->key == key) return o->stats();
    }
    return std::nullopt;
}

std::optional<idle_timeout_stats> client_core::idle_timeout(std::string_view key) const {
    std::unique_lock lock(mutex_, std::defer_lock);
    if (loop_ == nullptr) lock.lock();
    for (const auto& o : origins_) {
        if (o->key == key) return o->idle->stats();
    }
    return std::nullopt;
}

void client_core::close_idle() {
    std::unique_lock lock(mutex_, std::defer_lock);
    if (loop_ == nullptr) lock.lock();
    for (const auto& o : origins_) o->clear();
}

}  // namespace waitless::http::detail
