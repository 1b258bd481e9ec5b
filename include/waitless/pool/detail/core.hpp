// The pool's state machine: slots, the idle list, the waiter queues and the factory-call queue.
// It never blocks and never calls the factory; the faces hold the lock and run the jobs it queues.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <source_location>
#include <system_error>
#include <vector>

#include "waitless/core/error.hpp"
#include "waitless/pool/clock.hpp"
#include "waitless/pool/detail/list.hpp"
#include "waitless/pool/detail/slot.hpp"
#include "waitless/pool/error.hpp"
#include "waitless/pool/options.hpp"

namespace waitless::pool::detail {

// A caller waiting for a resource; lives in the blocking caller's frame or in a loop_pool awaiter.
template <class T>
struct waiter {
    virtual ~waiter() = default;
    // Called exactly once, with the pool's lock held, after granted/error are set.
    virtual void on_complete() noexcept = 0;

    waiter* prev = nullptr;
    waiter* next = nullptr;
    time_point deadline = time_point::max();
    priority level = priority::normal;
    bool queued = false;
    bool done = false;
    slot<T>* granted = nullptr;
    std::error_code error;
    std::source_location where;
};

enum class job_kind : std::uint8_t { create, validate, destroy };

// A factory call to run outside the lock. It owns the resource while it runs.
template <class T>
struct job {
    job_kind kind{};
    slot<T>* target = nullptr;
    std::uint32_t generation = 0;
    close_reason reason = close_reason::none;
    std::optional<T> resource;
};

template <class T>
class core {
  public:
    core(const options& o, time_point now) : opt_(o), max_(o.max), min_(o.min), window_start_(now) {
        grow(max_);
        rng_ = 0x9e3779b97f4a7c15ULL ^ reinterpret_cast<std::uintptr_t>(this);
    }

    std::size_t count(slot_state s) const noexcept { return count_[index(s)]; }
    // Resources that exist in any form: a closing one still holds its connection open.
    std::size_t size() const noexcept { return slots_.size() - count(slot_state::empty); }
    std::size_t waiting() const noexcept { return waiting_; }
    std::size_t abandoned() const noexcept { return abandoned_; }
    bool closed() const noexcept { return closed_; }

    // The one place a slot changes state; keeps counts, lists and the job queue in step.
    [[gnu::always_inline]] void transition(slot<T>& s, slot_state to, time_point now) {
        WAITLESS_ASSERT(allowed(s.state, to));
        if (s.state == slot_state::idle) idle_.erase(s);
        if (s.state == slot_state::empty) free_.erase(s);
        --count_[index(s.state)];
        ++count_[index(to)];
        s.state = to;
        switch (to) {
            case slot_state::empty:
                s.resource.reset();
                free_.push_front(s);
                break;
            case slot_state::idle:
                idle_.push_front(s);
                break;
            case slot_state::borrowed:
                s.borrowed_at = now;
                s.leak_reported = false;
                peak_borrowed_ = std::max(peak_borrowed_, count(slot_state::borrowed));
                ++acquired_;
                break;
            case slot_state::creating:
                queue_job(s, job_kind::create, now);
                break;
            case slot_state::validating:
                queue_job(s, job_kind::validate, now);
                break;
            case slot_state::closing:
                queue_job(s, job_kind::destroy, now);
                break;
        }
    }

    // The hot path: borrow an idle resource. nullptr with ec clear means "wait".
    [[gnu::always_inline]] slot<T>* take(time_point now, std::source_location where,
                                         std::error_code& ec) {
        if (closed_) {
            ec = errc::draining;
            return nullptr;
        }
        slot<T>* s = pick_idle();
        if (s == nullptr) return nullptr;
        if (needs_validation(*s, now)) {
            transition(*s, slot_state::validating, now);
            return nullptr;
        }
        s->acquired_at = where;
        transition(*s, slot_state::borrowed, now);
        return s;
    }

    std::error_code enqueue(waiter<T>& w, time_point now) {
        if (closed_) return errc::draining;
        if (waiting_ >= opt_.max_waiting) {
            ++rejected_;
            return errc::too_many_waiters;
        }
        waiters_[static_cast<std::size_t>(w.level)].push_back(w);
        w.queued = true;
        ++waiting_;
        supply(now);
        return {};
    }

    // Completes a still-queued waiter with ec (timeout, cancelled); false if it had completed.
    bool cancel(waiter<T>& w, std::error_code ec) {
        if (!w.queued) return false;
        unqueue(w);
        if (ec == errc::timeout) ++timeouts_;
        if (ec == errc::cancelled) ++cancelled_;
        complete(w, nullptr, ec);
        return true;
    }

    // A lease comes back.
    [[gnu::always_inline]] void give_back(slot<T>& s, bool invalidate, time_point now) {
        ++s.uses;
        s.last_used = now;
        if (invalidate) return close(s, close_reason::invalidated, now);
        if (closed_) return close(s, close_reason::drained, now);
        if (opt_.max_uses != 0 && s.uses >= opt_.max_uses) {
            return close(s, close_reason::max_uses, now);
        }
        // A busy resource is rarely idle when maintenance looks, so lifetime is checked here too.
        if (now >= s.expires_at && take_close_token(now)) {
            ++retired_;
            return close(s, close_reason::max_lifetime, now);
        }
        if (opt_.validate_on_return) {
            return transition(s, slot_state::validating, now);
        }
        offer(s, now);
    }

    // The factory's create returned. False: the pool gave up on it, the caller destroys it.
    bool create_done(job<T>& j, result<T>& r, time_point now) {
        if (r) ++created_;
        if (!current(j)) return late();
        slot<T>& s = *j.target;
        s.job_running = false;
        if (!r) {
            ++create_failures_;
            transition(s, slot_state::empty, now);
            fail_one(r.error() ? r.error() : make_error_code(errc::create_failed));
            supply(now);
            return true;
        }
        s.resource.emplace(std::move(*r));
        s.uses = 0;
        s.last_used = now;
        s.expires_at = lifetime_end(now);
        offer(s, now);
        return true;
    }

    bool validate_done(job<T>& j, bool ok, time_point now) {
        if (!current(j)) return late();
        slot<T>& s = *j.target;
        s.job_running = false;
        s.resource = std::move(j.resource);
        j.resource.reset();
        if (!ok) {
            ++validation_failures_;
            close(s, close_reason::validation_failed, now);
        } else {
            s.last_used = now;  // freshly checked: the bypass window starts again
            offer(s, now);
        }
        supply(now);
        return true;
    }

    bool destroy_done(job<T>& j, time_point now) {
        if (!current(j)) return late();
        j.target->job_running = false;
        ++destroyed_;
        transition(*j.target, slot_state::empty, now);
        supply(now);
        return true;
    }

    // A resource created or validated after the pool gave up on it was destroyed by its job.
    void late_destroyed() { ++destroyed_; }

    // A worker starts a factory call: its timeout runs from now, not from when it was queued.
    std::optional<job<T>> pop_job(time_point now) {
        if (jobs_.empty()) return std::nullopt;
        std::optional<job<T>> j(std::move(jobs_.front()));
        jobs_.pop_front();
        j->target->job_running = true;
        j->target->job_started = now;
        return j;
    }
    // False once the pool gave up on the call (it timed out).
    bool current(const job<T>& j) const noexcept { return j.generation == j.target->generation; }
    std::size_t jobs_queued() const noexcept { return jobs_.size(); }

    // Refuse acquires from now on: fail the waiters, close the idle resources.
    void shut(time_point now) {
        closed_ = true;
        while (waiter<T>* w = pop_waiter()) complete(*w, nullptr, errc::draining);
        while (slot<T>* s = idle_.back()) close(*s, close_reason::drained, now);
    }

    void clear(time_point now) {
        while (slot<T>* s = idle_.back()) close(*s, close_reason::cleared, now);
    }

    std::error_code resize(std::size_t max, std::size_t min, time_point now) {
        if (max == 0 || min > max) return errc::invalid_size;
        if (max > slots_.size()) grow(max - slots_.size());
        max_ = max;
        min_ = min;
        while (size() > max_ && !idle_.empty()) close(*idle_.back(), close_reason::shrunk, now);
        supply(now);
        return {};
    }

    // Time-driven work: waiter deadlines, factory-call timeouts, leaks, paced retirement, min.
    void maintain(time_point now, std::vector<event>& events) {
        expire_waiters(now);
        expire_jobs(now, events);
        report_leaks(now, events);
        if (opt_.retire_hysteresis > duration::zero() &&
            now - window_start_ >= opt_.retire_hysteresis) {
            peak_before_ = peak_borrowed_;
            peak_borrowed_ = count(slot_state::borrowed);
            window_start_ = now;
        }
        retire(now);
        supply(now);
        warm_up(now);
    }

    // The earliest time maintain() has something to do (a waiter's deadline, a factory call's
    // timeout, an idle timeout, a lifetime, a leak, the hysteresis window), for a face that
    // arms one timer instead of polling. time_point::max(): nothing.
    time_point next_deadline() const {
        time_point at = time_point::max();
        auto consider = [&](time_point t) { at = std::min(at, t); };
        for (const auto& level : waiters_) {
            for (const waiter<T>* w = level.front(); w != nullptr; w = w->next) {
                consider(w->deadline);
            }
        }
        for (const auto& owned : slots_) {
            const slot<T>& s = *owned;
            if (s.job_running) {
                const duration limit = s.state == slot_state::creating     ? opt_.create_timeout
                                       : s.state == slot_state::validating ? opt_.validate_timeout
                                                                           : opt_.destroy_timeout;
                consider(add_saturated(s.job_started, limit));
            }
            if (s.state == slot_state::idle) {
                consider(s.expires_at);
                if (opt_.idle_timeout > duration::zero()) {
                    consider(add_saturated(s.last_used, opt_.idle_timeout));
                }
            }
            if (s.state == slot_state::borrowed && !s.leak_reported &&
                opt_.leak_threshold > duration::zero()) {
                consider(add_saturated(s.borrowed_at, opt_.leak_threshold));
            }
        }
        if (opt_.retire_hysteresis > duration::zero()) {
            consider(add_saturated(window_start_, opt_.retire_hysteresis));
        }
        return at;
    }

    void fill(stats& st) const {
        st.size = size();
        st.idle = count(slot_state::idle);
        st.borrowed = count(slot_state::borrowed);
        st.creating = count(slot_state::creating);
        st.validating = count(slot_state::validating);
        st.closing = count(slot_state::closing);
        st.pending = waiting_;
        st.acquired = acquired_;
        st.created = created_;
        st.destroyed = destroyed_;
        st.create_failures = create_failures_;
        st.create_timeouts = create_timeouts_;
        st.destroy_timeouts = destroy_timeouts_;
        st.validation_failures = validation_failures_;
        st.timeouts = timeouts_;
        st.cancelled = cancelled_;
        st.rejected = rejected_;
        st.retired = retired_;
        st.leaks = leaks_;
    }

  private:
    static constexpr std::size_t index(slot_state s) { return static_cast<std::size_t>(s); }

    static bool allowed(slot_state from, slot_state to) {
        using enum slot_state;
        switch (from) {
            case empty:
                return to == creating;
            case creating:
                return to == idle || to == borrowed || to == closing || to == empty;
            // borrowed -> borrowed: a returned resource handed straight to a waiter.
            case idle:
                return to == borrowed || to == validating || to == closing;
            case borrowed:
                return to == idle || to == borrowed || to == validating || to == closing;
            case validating:
                return to == idle || to == borrowed || to == closing || to == empty;
            case closing:
                return to == empty;
        }
        return false;
    }

    void grow(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            slots_.push_back(std::make_unique<slot<T>>());
            free_.push_front(*slots_.back());
            ++count_[index(slot_state::empty)];
        }
    }

    slot<T>* pick_idle() const noexcept {
        return opt_.order == order::lifo ? idle_.front() : idle_.back();
    }

    bool needs_validation(const slot<T>& s, time_point now) const noexcept {
        return opt_.validate_on_borrow && now - s.last_used >= opt_.validate_bypass;
    }

    [[gnu::noinline]] void queue_job(slot<T>& s, job_kind kind, time_point now) {
        s.job_started = now;
        s.job_running = false;
        job<T> j{kind, &s, s.generation, s.reason, std::move(s.resource)};
        s.resource.reset();
        jobs_.push_back(std::move(j));
    }

    bool late() {
        --abandoned_;
        return false;
    }

    void close(slot<T>& s, close_reason why, time_point now) {
        s.reason = why;
        transition(s, slot_state::closing, now);
    }

    // A resource is ready for use: the first waiter gets it, else it goes idle. Shrinking
    // comes first, or a steady queue of waiters would keep the pool above a lowered max.
    [[gnu::always_inline]] void offer(slot<T>& s, time_point now) {
        if (closed_) {
            close(s, close_reason::drained, now);
        } else if (size() > max_) {
            close(s, close_reason::shrunk, now);
        } else if (waiter<T>* w = pop_waiter()) {
            s.acquired_at = w->where;
            transition(s, slot_state::borrowed, now);
            complete(*w, &s, {});
        } else {
            transition(s, slot_state::idle, now);
        }
    }

    // Resources on their way (being created or validated) count as supply for waiters.
    std::size_t on_the_way() const noexcept {
        return count(slot_state::creating) + count(slot_state::validating);
    }

    // Serve waiters from idle resources, then create for those still uncovered.
    void supply(time_point now) {
        while (waiting_ > on_the_way() && !idle_.empty()) {
            slot<T>& s = *pick_idle();
            if (needs_validation(s, now)) {
                transition(s, slot_state::validating, now);
            } else {
                offer(s, now);
            }
        }
        while (!closed_ && waiting_ > on_the_way() && size() < max_) start_create(now);
    }

    void warm_up(time_point now) {
        while (!closed_ && size() < max_ && size() - count(slot_state::closing) < min_) {
            start_create(now);
        }
    }

    void start_create(time_point now) {
        slot<T>* s = free_.front();
        WAITLESS_ASSERT(s != nullptr);
        s->reason = close_reason::none;
        transition(*s, slot_state::creating, now);
    }

    // A failed create fails one waiter that no other resource on the way would serve, so a
    // dead backend turns into errors at once instead of timeouts, one per attempt.
    void fail_one(std::error_code ec) {
        if (waiting_ > on_the_way()) {
            if (waiter<T>* w = pop_waiter()) complete(*w, nullptr, ec);
        }
    }

    waiter<T>* pop_waiter() {
        if (waiting_ == 0) return nullptr;
        for (auto& level : waiters_) {
            if (waiter<T>* w = level.front()) {
                unqueue(*w);
                return w;
            }
        }
        return nullptr;
    }

    void unqueue(waiter<T>& w) {
        waiters_[static_cast<std::size_t>(w.level)].erase(w);
        w.queued = false;
        --waiting_;
    }

    static void complete(waiter<T>& w, slot<T>* s, std::error_code ec) {
        w.granted = s;
        w.error = ec;
        w.done = true;
        w.on_complete();
    }

    time_point lifetime_end(time_point now) {
        if (opt_.max_lifetime == duration::zero()) return time_point::max();
        // splitmix64: cheap, good spread, and no shared state between pools.
        rng_ += 0x9e3779b97f4a7c15ULL;
        std::uint64_t z = rng_;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        const double unit = static_cast<double>(z >> 11) * 0x1.0p-53;
        const auto life = static_cast<double>(opt_.max_lifetime.count());
        const auto cut = static_cast<duration::rep>(life * opt_.lifetime_jitter * unit);
        return add_saturated(now, opt_.max_lifetime - duration(cut));
    }

    // Token bucket holding at most one second of closes (and at least one).
    bool take_close_token(time_point now) {
        const double rate = opt_.max_closes_per_second;
        if (rate <= 0) return true;
        const double cap = std::max(1.0, rate);
        if (!bucket_started_) {
            bucket_started_ = true;
            tokens_ = cap;
        } else if (now > bucket_time_) {
            const double seconds = std::chrono::duration<double>(now - bucket_time_).count();
            tokens_ = std::min(cap, tokens_ + seconds * rate);
        }
        bucket_time_ = std::max(bucket_time_, now);
        if (tokens_ < 1) return false;
        tokens_ -= 1;
        return true;
    }

    void expire_waiters(time_point now) {
        for (auto& level : waiters_) {
            for (waiter<T>* w = level.front(); w != nullptr;) {
                waiter<T>* next = w->next;
                if (w->deadline <= now) cancel(*w, errc::timeout);
                w = next;
            }
        }
    }

    void expire_jobs(time_point now, std::vector<event>& events) {
        for (auto& owned : slots_) {
            slot<T>& s = *owned;
            if (!s.job_running) continue;
            const auto running = now - s.job_started;
            if (s.state == slot_state::creating && running >= opt_.create_timeout) {
                abandon(s, now);
                ++create_timeouts_;
                ++create_failures_;
                events.push_back({event_kind::create_failed, close_reason::none,
                                  make_error_code(errc::create_timeout)});
                fail_one(errc::create_timeout);
            } else if (s.state == slot_state::validating && running >= opt_.validate_timeout) {
                abandon(s, now);
                ++validation_failures_;
                events.push_back({event_kind::validation_failed, close_reason::validation_failed});
            } else if (s.state == slot_state::closing && running >= opt_.destroy_timeout) {
                const close_reason why = s.reason;
                abandon(s, now);
                ++destroy_timeouts_;
                ++destroyed_;  // the pool is done with it; the late return is not counted again
                events.push_back({event_kind::destroy_timeout, why});
            }
        }
    }

    void abandon(slot<T>& s, time_point now) {
        s.job_running = false;
        ++s.generation;
        ++abandoned_;
        transition(s, slot_state::empty, now);
    }

    void report_leaks(time_point now, std::vector<event>& events) {
        if (opt_.leak_threshold == duration::zero()) return;
        for (auto& owned : slots_) {
            slot<T>& s = *owned;
            if (s.state != slot_state::borrowed || s.leak_reported) continue;
            if (now - s.borrowed_at < opt_.leak_threshold) continue;
            s.leak_reported = true;
            ++leaks_;
            events.push_back(
                {event_kind::leak, close_reason::none, {}, s.acquired_at, now - s.borrowed_at});
        }
    }

    // Paced retirement, coldest first: expired lifetimes always qualify, idle timeouts only
    // above max(min, recent peak borrowed) so a burst followed by quiet keeps its capacity.
    void retire(time_point now) {
        std::size_t live = size() - count(slot_state::closing);
        std::size_t floor = min_;
        if (opt_.retire_hysteresis > duration::zero()) {
            floor = std::max({floor, peak_before_, peak_borrowed_});
        }
        for (slot<T>* s = idle_.back(); s != nullptr;) {
            slot<T>* colder_next = s->prev;
            const bool expired = now >= s->expires_at;
            const bool idle_too_long = opt_.idle_timeout > duration::zero() &&
                                       now - s->last_used >= opt_.idle_timeout && live > floor;
            if (expired || idle_too_long) {
                if (!take_close_token(now)) return;
                ++retired_;
                --live;
                close(*s, expired ? close_reason::max_lifetime : close_reason::idle_timeout, now);
            }
            s = colder_next;
        }
    }

    const options& opt_;
    std::size_t max_;
    std::size_t min_;
    bool closed_ = false;

    std::vector<std::unique_ptr<slot<T>>> slots_;  // stable addresses: leases point into them
    std::array<std::size_t, slot_state_count> count_{};
    node_list<slot<T>> idle_;  // front: most recently returned
    node_list<slot<T>> free_;  // empty slots
    std::array<node_list<waiter<T>>, priority_levels> waiters_;
    std::size_t waiting_ = 0;
    std::deque<job<T>> jobs_;
    std::size_t abandoned_ = 0;  // factory calls given up on that have not returned yet

    std::uint64_t rng_ = 0;
    bool bucket_started_ = false;
    double tokens_ = 0;
    time_point bucket_time_{};
    std::size_t peak_borrowed_ = 0;  // in the current hysteresis window
    std::size_t peak_before_ = 0;    // in the previous one
    time_point window_start_;

    std::uint64_t acquired_ = 0, created_ = 0, destroyed_ = 0, create_failures_ = 0;
    std::uint64_t create_timeouts_ = 0, destroy_timeouts_ = 0, validation_failures_ = 0;
    std::uint64_t timeouts_ = 0, cancelled_ = 0, rejected_ = 0, retired_ = 0, leaks_ = 0;
};

}  // namespace waitless::pool::detail
