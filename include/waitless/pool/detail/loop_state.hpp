// The single-threaded pool's state: the same core state machine as the thread-safe pool, driven
// from one io::loop. Creates run as coroutines on the loop; validate and destroy run inline;
// one loop timer, armed at the core's next deadline, does what the maintenance thread does.
// No lock: everything here runs on the loop's thread.
#pragma once

#include <algorithm>
#include <concepts>
#include <coroutine>
#include <memory>
#include <optional>
#include <source_location>
#include <stop_token>
#include <utility>
#include <vector>

#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/pool/detail/core.hpp"
#include "waitless/pool/factory.hpp"
#include "waitless/pool/lease.hpp"

namespace waitless::pool {

// What a loop pool needs from its resources. create() runs on the loop and must end by itself
// (a connect with its own timeout): past create_timeout the pool stops waiting for it, and a
// resource it yields later is destroyed. validate() and destroy() run inline on the loop, so
// they must not block (a 1-byte MSG_PEEK, a close).
template <class F, class T>
concept loop_factory_for = std::movable<T> && requires(F& f, T& resource) {
    { f.create() } -> std::same_as<io::task<result<T>>>;
    { f.validate(resource) } -> std::convertible_to<bool>;
    f.destroy(resource);
};

namespace detail {

template <class T, class Factory>
class loop_state final : public lease_owner<T>,
                         public std::enable_shared_from_this<loop_state<T, Factory>> {
  public:
    loop_state(io::loop& l, Factory factory, options o)
        : loop_(l), opt_(std::move(o)), factory_(std::move(factory)), core_(opt_, now()) {}
    ~loop_state() override { loop_.disarm(timer_); }
    loop_state(const loop_state&) = delete;
    loop_state& operator=(const loop_state&) = delete;

    // While its loop runs on this thread, the time of the loop's turn: one clock read per turn
    // instead of two per borrow and return.
    time_point now() const noexcept {
        if (opt_.clock) return opt_.clock->now();
        return io::loop::current() == &loop_ ? loop_.now() : io::clock::now();
    }
    time_point borrow_time() const noexcept {
        return opt_.leak_threshold > duration::zero() || opt_.validate_on_borrow ? now()
                                                                                 : time_point{};
    }
    const options& opts() const noexcept { return opt_; }
    io::loop& loop() const noexcept { return loop_; }
    Factory& factory() noexcept { return factory_; }

    // The waiter of one co_await acquire(): lives in the awaiting coroutine's frame.
    struct loop_waiter final : waiter<T> {
        loop_state* owner = nullptr;
        std::coroutine_handle<> handle;
        void on_complete() noexcept override {
            if (handle) owner->loop_.schedule(std::exchange(handle, {}));
        }
    };

    // An idle resource now; nullptr with ec clear: queue.
    slot<T>* take(std::source_location where, std::error_code& ec) {
        slot<T>* s = core_.take(borrow_time(), where, ec);
        if (s == nullptr) {
            run_jobs();  // take() may have started a validation
        } else if (opt_.leak_threshold > duration::zero()) {
            ensure_timer(add_saturated(s->borrowed_at, opt_.leak_threshold));
        }
        return s;
    }

    std::error_code enqueue(loop_waiter& w) {
        const time_point t = now();
        if (auto ec = core_.enqueue(w, t)) return ec;
        run_jobs();
        ensure_timer(w.deadline);
        return {};
    }

    // The waiter gives up (cancelled, or its coroutine was destroyed): no-op once completed.
    void cancel(loop_waiter& w, std::error_code ec) { core_.cancel(w, ec); }

    void give_back(slot<T>& s, bool invalidate) noexcept override {
        std::shared_ptr<loop_state> last;  // the pool object is gone: the last lease ends it
        const time_point t = now();
        core_.give_back(s, invalidate, t);
        run_jobs();
        if (s.state == slot_state::idle) ensure_timer(idle_deadline(s));
        if (orphan_ && core_.count(slot_state::borrowed) == 0) last = std::move(orphan_);
    }

    void maintain() {
        std::vector<event> events;
        core_.maintain(now(), events);
        run_jobs();
        for (const auto& e : events) emit(e);
        rearm();
    }

    void clear() {
        core_.clear(now());
        run_jobs();
    }

    std::error_code resize(std::size_t max, std::size_t min) {
        auto ec = core_.resize(max, min, now());
        run_jobs();
        return ec;
    }

    ::waitless::pool::stats snapshot() const {
        ::waitless::pool::stats st;
        core_.fill(st);
        st.jobs = creating_;
        return st;
    }

    // The pool object goes away: fail waiters, destroy idle resources. Creates in flight keep
    // this alive (their coroutines own a reference); so do leases still out (orphan_).
    void shut_down() {
        core_.shut(now());
        run_jobs();
        stopping_ = true;
        loop_.disarm(timer_);
        if (core_.count(slot_state::borrowed) > 0) orphan_ = this->shared_from_this();
    }

    // Warm-up for min and the first timer; called once the state is shared-owned.
    void start() {
        std::vector<event> events;
        core_.maintain(now(), events);
        run_jobs();
        rearm();
    }

    void emit(const event& e) const {
        if (opt_.on_event) opt_.on_event(e);
    }

  private:
    // Runs the factory calls the core queued: creates as coroutines on the loop (next turn, so
    // nothing re-enters the caller), validate and destroy inline.
    void run_jobs() {
        while (auto j = core_.pop_job(now())) {
            switch (j->kind) {
                case job_kind::create:
                    ++creating_;
                    ensure_timer(add_saturated(j->target->job_started, opt_.create_timeout));
                    loop_.start(run_create(this->shared_from_this(), std::move(*j)));
                    break;
                case job_kind::validate: {
                    const bool ok = call_validate(*j->resource);
                    core_.validate_done(*j, ok, now());
                    if (!ok) emit(event(event_kind::validation_failed));
                    break;
                }
                case job_kind::destroy: {
                    call_destroy(*j->resource);
                    j->resource.reset();
                    core_.destroy_done(*j, now());
                    emit(event(event_kind::destroyed, j->reason));
                    break;
                }
            }
        }
    }

    static io::task<void> run_create(std::shared_ptr<loop_state> self, job<T> j) {
        result<T> r = co_await self->call_create();
        --self->creating_;
        const bool current = self->core_.create_done(j, r, self->now());
        if (current) {
            self->emit(r ? event(event_kind::created)
                         : event(event_kind::create_failed, {}, r.error()));
        }
        if (r && !current) {  // the pool gave up on it (create_timeout)
            self->call_destroy(*r);
            self->core_.late_destroyed();
            self->emit(event(event_kind::destroyed, close_reason::late));
        }
        self->run_jobs();
        if (current && j.target->state == slot_state::idle) {
            self->ensure_timer(self->idle_deadline(*j.target));
        }
    }

    io::task<result<T>> call_create() {
        try {
            co_return co_await factory_.create();
        } catch (...) {
            co_return std::unexpected(make_error_code(errc::create_failed));
        }
    }
    bool call_validate(T& r) noexcept { return validate_quietly(factory_, r); }
    void call_destroy(T& r) noexcept { destroy_quietly(factory_, r); }

    time_point idle_deadline(const slot<T>& s) const {
        time_point at = s.expires_at;
        if (opt_.idle_timeout > duration::zero()) {
            at = std::min(at, add_saturated(s.last_used, opt_.idle_timeout));
        }
        return at;
    }

    // The timer only ever moves earlier here; when it fires, maintain() re-arms it at the
    // core's next deadline. A hand-driven clock (tests) means maintain() is called by hand.
    void ensure_timer(time_point at) {
        if (opt_.clock != nullptr || stopping_ || at == time_point::max()) return;
        if (!timer_.armed() || at < timer_.at) loop_.arm(timer_, at);
    }

    void rearm() {
        if (opt_.clock != nullptr || stopping_) return;
        time_point at = core_.next_deadline();
        if (at == time_point::max()) return loop_.disarm(timer_);
        // Something due but held back (paced retirement, the min floor): look again later.
        const time_point t = now();
        if (at <= t) {
            const duration step = opt_.maintenance_interval > duration::zero()
                                      ? opt_.maintenance_interval
                                      : duration(std::chrono::milliseconds(100));
            at = t + step;
        }
        loop_.arm(timer_, at);
    }

    static void on_timer(io::timer& t) { static_cast<loop_state*>(t.target)->maintain(); }

    io::loop& loop_;
    const options opt_;
    Factory factory_;
    core<T> core_;
    io::timer timer_{&loop_state::on_timer, this};
    std::size_t creating_ = 0;  // create coroutines still running (abandoned ones included)
    bool stopping_ = false;
    std::shared_ptr<loop_state> orphan_;
};

}  // namespace detail
}  // namespace waitless::pool
