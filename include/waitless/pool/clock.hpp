// The pool's sense of time: a cheap coarse monotonic clock by default, a hand-driven one for tests.
#pragma once

#include <atomic>
#include <chrono>
#include <ctime>

namespace waitless::pool {

// Same epoch as std::chrono::steady_clock (CLOCK_MONOTONIC on Linux), so deadlines can be
// handed to condition variables and io::loop timers unchanged.
using time_point = std::chrono::steady_clock::time_point;
using duration = std::chrono::steady_clock::duration;

// A source of time the pool reads instead of the system clock; tests inject a manual_clock so
// idle timeouts, lifetimes and pacing run without sleeping.
class clock {
  public:
    virtual ~clock() = default;
    virtual time_point now() const noexcept = 0;
};

// CLOCK_MONOTONIC_COARSE is served by the vDSO in a few ns (no syscall), precise to a tick
// (1-4 ms), which is plenty for timeouts measured in ms to minutes.
inline time_point coarse_now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::duration_cast<duration>(std::chrono::seconds(ts.tv_sec) +
                                                           std::chrono::nanoseconds(ts.tv_nsec)));
}

// A clock that only moves when told to; safe to read from any thread.
class manual_clock final : public clock {
  public:
    explicit manual_clock(time_point start = time_point(std::chrono::hours(1))) : now_(start) {}
    time_point now() const noexcept override { return now_.load(std::memory_order_acquire); }
    void advance(duration d) noexcept {
        auto t = now_.load(std::memory_order_relaxed);
        while (!now_.compare_exchange_weak(t, t + d, std::memory_order_acq_rel)) {
        }
    }

  private:
    std::atomic<time_point> now_;
};

// now + d without overflow, so duration::max() means "never".
inline time_point add_saturated(time_point now, duration d) noexcept {
    if (d >= time_point::max() - now) return time_point::max();
    return now + d;
}

}  // namespace waitless::pool
