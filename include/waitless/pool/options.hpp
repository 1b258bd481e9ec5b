// What a pool is configured with, what it reports (stats, events) and how a caller acquires.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <source_location>
#include <stop_token>
#include <system_error>

#include "waitless/pool/clock.hpp"

namespace waitless::pool {

using namespace std::chrono_literals;

// Which idle resource an acquire gets: LIFO keeps hot connections hot and lets the rest age
// out through idle_timeout; FIFO spreads use evenly over all of them.
enum class order : std::uint8_t { lifo, fifo };

// Waiters of a higher priority are served first; within a level, first come first served.
enum class priority : std::uint8_t { high = 0, normal = 1, low = 2 };
inline constexpr std::size_t priority_levels = 3;

// Why a resource was destroyed.
enum class close_reason : std::uint8_t {
    none,
    invalidated,        // the borrower called lease::invalidate()
    validation_failed,  // validate() said no (on borrow or on return), or timed out
    idle_timeout,       // idle longer than idle_timeout
    max_lifetime,       // older than its (jittered) max_lifetime
    max_uses,           // borrowed max_uses times
    cleared,            // clear()
    drained,            // drain() or the pool's destructor
    shrunk,             // resize() below the current size
    late,               // created or validated after the pool had given up on it
};

enum class event_kind : std::uint8_t {
    created,
    create_failed,  // error holds the factory's error (or errc::create_timeout)
    destroyed,      // reason says why
    destroy_timeout,
    validation_failed,
    acquire_timeout,
    leak,  // a lease held past leak_threshold: where it was acquired, and for how long
};

struct event {
    event() = default;
    event(event_kind k, close_reason r = close_reason::none, std::error_code e = {},
          std::source_location w = {}, duration h = {}) noexcept
        : kind(k), reason(r), error(e), where(w), held(h) {}

    event_kind kind{};
    close_reason reason = close_reason::none;
    std::error_code error;
    std::source_location where;  // acquire call of a leaked lease / a timed-out waiter
    duration held{};             // how long a leaked lease has been held
};

struct options {
    std::size_t max = 10;  // resources at most, borrowed or not
    std::size_t min = 0;   // kept created in the background, even when idle
    std::size_t max_waiting = std::numeric_limits<std::size_t>::max();

    duration acquire_timeout = 10s;  // zero: fail at once when nothing is idle; max(): wait forever
    duration create_timeout = 10s;
    duration validate_timeout = 5s;
    duration destroy_timeout = 5s;
    duration idle_timeout = 10min;   // zero: never
    duration max_lifetime = 30min;   // zero: never
    double lifetime_jitter = 0.025;  // each lifetime is cut by up to this fraction, at random
    std::uint64_t max_uses = 0;      // zero: unlimited

    bool validate_on_borrow = false;
    duration validate_bypass = 500ms;  // skip borrow validation when used this recently
    bool validate_on_return = false;

    pool::order order = pool::order::lifo;

    // Paced retirement (idle_timeout, max_lifetime): at most this many closes per second
    // (zero: no cap), and never below the peak number borrowed within retire_hysteresis.
    double max_closes_per_second = 0;
    duration retire_hysteresis = 0s;

    duration leak_threshold = 0s;           // zero: no leak detection
    duration maintenance_interval = 100ms;  // zero: no background thread, call maintain() yourself

    const pool::clock* clock = nullptr;          // not owned; nullptr: the coarse monotonic clock
    std::function<void(const event&)> on_event;  // called outside the pool's lock
};

// Throws std::invalid_argument naming the first bad option (start-up only).
void check(const options& o);

struct acquire_options {
    pool::priority priority = pool::priority::normal;
    std::optional<duration> timeout;  // overrides options::acquire_timeout
    std::stop_token stop;             // blocking acquire: cancels the wait when stop is requested
};

// A snapshot; gauges first, then counters since construction.
struct stats {
    std::size_t size = 0;  // resources that exist or are being created or destroyed
    std::size_t idle = 0;
    std::size_t borrowed = 0;
    std::size_t creating = 0;
    std::size_t validating = 0;
    std::size_t closing = 0;
    std::size_t pending = 0;  // waiting callers
    std::size_t jobs = 0;     // factory calls queued or running (including abandoned ones)

    std::uint64_t acquired = 0;
    std::uint64_t created = 0;
    std::uint64_t destroyed = 0;
    std::uint64_t create_failures = 0;
    std::uint64_t create_timeouts = 0;
    std::uint64_t destroy_timeouts = 0;
    std::uint64_t validation_failures = 0;
    std::uint64_t timeouts = 0;  // acquire timeouts
    std::uint64_t cancelled = 0;
    std::uint64_t rejected = 0;  // too_many_waiters
    std::uint64_t retired = 0;   // paced closes (idle_timeout, max_lifetime)
    std::uint64_t leaks = 0;
};

}  // namespace waitless::pool
