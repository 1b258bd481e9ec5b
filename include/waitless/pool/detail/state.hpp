// The pool's shared state: the core behind one mutex, the factory, its worker threads, and the
// blocking face. Shared-owned so leases and abandoned factory calls can outlive the pool object.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "waitless/pool/detail/core.hpp"
#include "waitless/pool/detail/spin_mutex.hpp"
#include "waitless/pool/factory.hpp"
#include "waitless/pool/lease.hpp"

namespace waitless::pool::detail {

template <class T, class Factory>
class state final : public lease_owner<T>, public std::enable_shared_from_this<state<T, Factory>> {
  public:
    state(Factory factory, options o)
        : opt_(std::move(o)), factory_(std::move(factory)), core_(opt_, now()) {}

    time_point now() const noexcept { return opt_.clock ? opt_.clock->now() : coarse_now(); }
    // A borrow needs the time only for leak detection and borrow validation; skipping the
    // clock otherwise keeps the hot path at one clock read per cycle (on return).
    time_point borrow_time() const noexcept {
        return opt_.leak_threshold > duration::zero() || opt_.validate_on_borrow ? now()
                                                                                 : time_point{};
    }
    const options& opts() const noexcept { return opt_; }

    // Blocking face. The fast path is one lock, an intrusive-list pop and one coarse clock read.
    result<lease<T>> acquire(const acquire_options& ao, std::source_location where) {
        std::unique_lock lk(mu_);
        std::error_code ec;
        if (slot<T>* s = core_.take(borrow_time(), where, ec)) return lease<T>(this, s);
        if (ec) return std::unexpected(ec);
        kick();
        const time_point t = now();
        const duration timeout = ao.timeout.value_or(opt_.acquire_timeout);
        if (timeout == duration::zero()) return std::unexpected(errc::timeout);
        if (ao.stop.stop_requested()) return std::unexpected(errc::cancelled);

        blocking_waiter w;
        w.level = ao.priority;
        w.where = where;
        w.deadline = add_saturated(t, timeout);
        if (auto e = core_.enqueue(w, t)) return std::unexpected(e);
        kick();
        std::optional<std::stop_callback<canceller>> on_stop;
        if (ao.stop.stop_possible()) {
            lk.unlock();  // the callback runs at once if stop was already requested
            on_stop.emplace(ao.stop, canceller{this, &w});
            lk.lock();
        }
        while (!w.done) wait(lk, w);
        lk.unlock();
        on_stop.reset();  // without the lock: a running callback takes it
        if (w.error) {
            if (w.error == errc::timeout) emit({event_kind::acquire_timeout, {}, w.error, where});
            return std::unexpected(w.error);
        }
        return lease<T>(this, w.granted);
    }

    result<lease<T>> try_acquire(std::source_location where) {
        std::lock_guard lk(mu_);
        std::error_code ec;
        if (slot<T>* s = core_.take(borrow_time(), where, ec)) return lease<T>(this, s);
        kick();
        return std::unexpected(ec ? ec : make_error_code(errc::would_block));
    }

    // A waiter gives up (timeout, cancellation); no-op when it has completed meanwhile.
    void expire_waiter(waiter<T>& w, std::error_code ec) {
        std::lock_guard lk(mu_);
        core_.cancel(w, ec);
    }

    void give_back(slot<T>& s, bool invalidate) noexcept override {
        std::shared_ptr<state> last;  // destroyed after the lock is released
        std::lock_guard lk(mu_);
        core_.give_back(s, invalidate, now());
        kick();
        if (orphan_ && core_.count(slot_state::borrowed) == 0) last = std::move(orphan_);
    }

    void maintain() {
        std::vector<event> events;
        {
            std::lock_guard lk(mu_);
            core_.maintain(now(), events);
            kick();
        }
        changed_.notify_all();
        for (const auto& e : events) emit(e);
    }

    void clear() {
        std::lock_guard lk(mu_);
        core_.clear(now());
        kick();
    }

    std::error_code resize(std::size_t max, std::size_t min) {
        std::lock_guard lk(mu_);
        auto ec = core_.resize(max, min, now());
        kick();
        return ec;
    }

    ::waitless::pool::stats snapshot() const {
        std::lock_guard lk(mu_);
        ::waitless::pool::stats st;
        core_.fill(st);
        st.jobs = core_.jobs_queued() + busy_;
        return st;
    }

    // Refuse acquires, close everything, wait until every resource is destroyed. Factory-call
    // timeouts are enforced here too, so a hung destroy cannot hold drain() past its timeout.
    bool drain(duration limit) {
        const auto until = add_saturated(std::chrono::steady_clock::now(), limit);
        {
            std::lock_guard lk(mu_);
            core_.shut(now());
            kick();
        }
        return settle(until, [this] { return core_.size() == 0; });
    }

    // The pool object goes away: like drain(), but leases still out keep the state alive.
    void shut_down() {
        {
            std::lock_guard lk(mu_);
            core_.shut(now());
            stopping_ = true;
            kick();
        }
        jobs_ready_.notify_all();
        settle(time_point::max(), [this] {
            return core_.count(slot_state::creating) + core_.count(slot_state::validating) +
                       core_.count(slot_state::closing) ==
                   0;
        });
        std::lock_guard lk(mu_);
        if (core_.count(slot_state::borrowed) > 0) orphan_ = this->shared_from_this();
    }

    void emit(const event& e) const {
        if (opt_.on_event) opt_.on_event(e);
    }

    // Under the lock: wake or start workers for queued factory calls (inline: the hot path
    // only pays the check).
    [[gnu::always_inline]] void kick() {
        if (core_.jobs_queued() > 0) start_workers();
    }

  private:
    // At most worker_limit workers, not counting abandoned (hung) calls, so a hung factory
    // cannot stall the pool.
    [[gnu::noinline]] void start_workers() {
        const std::size_t queued = core_.jobs_queued();
        const std::size_t idle_workers = workers_ - busy_;
        if (idle_workers > 0) jobs_ready_.notify_all();
        for (std::size_t i = idle_workers; i < queued; ++i) {
            if (workers_ >= worker_limit + core_.abandoned()) break;
            ++workers_;
            std::thread([self = this->shared_from_this()] { self->work(); }).detach();
        }
    }

    struct blocking_waiter final : waiter<T> {
        std::condition_variable_any cv;
        // Under the lock, so the waiter cannot return and destroy cv before notify_one ends.
        void on_complete() noexcept override { cv.notify_one(); }
    };

    struct canceller {
        state* owner;
        waiter<T>* w;
        void operator()() const noexcept { owner->expire_waiter(*w, errc::cancelled); }
    };

    void wait(std::unique_lock<spin_mutex>& lk, blocking_waiter& w) {
        if (opt_.clock != nullptr) {
            // Hand-driven time: recheck now and then; maintain() also expires waiters.
            w.cv.wait_for(lk, std::chrono::milliseconds(20));
            if (!w.done && now() >= w.deadline) core_.cancel(w, errc::timeout);
        } else if (w.deadline == time_point::max()) {
            w.cv.wait(lk);
        } else if (w.cv.wait_until(lk, w.deadline) == std::cv_status::timeout && !w.done) {
            core_.cancel(w, errc::timeout);
        }
    }

    template <class Done>
    bool settle(time_point until, Done done) {
        for (;;) {
            maintain();
            std::unique_lock lk(mu_);
            auto quiet = [&] {
                return done() && core_.jobs_queued() == 0 && busy_ <= core_.abandoned();
            };
            if (quiet()) return true;
            if (std::chrono::steady_clock::now() >= until) return false;
            changed_.wait_for(lk, std::chrono::milliseconds(10));
            if (quiet()) return true;
        }
    }

    void work() {
        std::unique_lock lk(mu_);
        for (;;) {
            // now() only with a job: a lingering worker may outlive the pool and its clock.
            if (core_.jobs_queued() > 0) {
                auto j = core_.pop_job(now());
                ++busy_;
                lk.unlock();
                run(*j);
                lk.lock();
                --busy_;
                changed_.notify_all();
                continue;
            }
            if (stopping_) break;
            // Linger a little so a burst of factory calls does not start a thread per call.
            if (!jobs_ready_.wait_for(lk, std::chrono::seconds(2),
                                      [&] { return core_.jobs_queued() > 0 || stopping_; })) {
                break;
            }
        }
        --workers_;
    }

    // Under the lock, when a factory call returns. A call the pool gave up on may return after
    // the pool object is gone: it must not read the user's clock then, nor call on_event.
    struct completion {
        time_point now;
        bool announce;
    };
    completion returned(const job<T>& j) {
        const bool current = core_.current(j);
        return {current ? now() : time_point{}, current || !stopping_};
    }

    // One factory call, outside the lock; the resource is owned by the job meanwhile.
    void run(job<T>& j) {
        bool current = false;
        completion c{};
        switch (j.kind) {
            case job_kind::create: {
                result<T> r = call_create();
                {
                    std::lock_guard lk(mu_);
                    c = returned(j);
                    current = core_.create_done(j, r, c.now);
                    kick();
                }
                if (c.announce) {
                    emit(r ? event(event_kind::created)
                           : event(event_kind::create_failed, {}, r.error()));
                }
                if (r && !current) destroy_late(*r, c.announce);
                break;
            }
            case job_kind::validate: {
                const bool ok = call_validate(*j.resource);
                {
                    std::lock_guard lk(mu_);
                    c = returned(j);
                    current = core_.validate_done(j, ok, c.now);
                    kick();
                }
                if (!ok && current) emit(event(event_kind::validation_failed));
                if (!current) destroy_late(*j.resource, c.announce);
                break;
            }
            case job_kind::destroy: {
                call_destroy(*j.resource);
                j.resource.reset();
                {
                    std::lock_guard lk(mu_);
                    c = returned(j);
                    current = core_.destroy_done(j, c.now);
                    kick();
                }
                if (current) emit(event(event_kind::destroyed, j.reason));
                break;
            }
        }
    }

    void destroy_late(T& resource, bool announce) {
        call_destroy(resource);
        {
            std::lock_guard lk(mu_);
            core_.late_destroyed();
        }
        if (announce) emit(event(event_kind::destroyed, close_reason::late));
    }

    static constexpr std::size_t worker_limit = 8;

    // A throwing factory must not take a worker thread (and the process) down with it.
    result<T> call_create() noexcept {
        try {
            return factory_.create();
        } catch (...) {
            return std::unexpected(make_error_code(errc::create_failed));
        }
    }
    bool call_validate(T& r) noexcept { return validate_quietly(factory_, r); }
    void call_destroy(T& r) noexcept { destroy_quietly(factory_, r); }

    const options opt_;
    Factory factory_;
    mutable spin_mutex mu_;
    core<T> core_;
    std::condition_variable_any jobs_ready_;  // workers wait here for factory calls
    std::condition_variable_any changed_;     // drain() and shut_down() wait here
    std::size_t workers_ = 0;
    std::size_t busy_ = 0;  // workers inside a factory call, abandoned ones included
    bool stopping_ = false;
    std::shared_ptr<state> orphan_;  // self-reference while leases outlive the pool object
};

}  // namespace waitless::pool::detail
