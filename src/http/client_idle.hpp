// What the client learns of an origin's idle timeout when the server does not advertise one
// (no Keep-Alive: timeout=N): from the idle closes it sees, and from the idle connections it
// finds still open. It says how long an idle connection may still be reused.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "waitless/http/client.hpp"
#include "waitless/pool/clock.hpp"

namespace waitless::http::detail {

class idle_learner {
  public:
    using duration = pool::duration;
    using time_point = pool::time_point;

    // Two closes after the same idle time (within this share of it, at least 50 ms) at moments
    // at least that far apart confirm a timeout: a restart or reload that closes every idle
    // connection at once gives closes at one moment after unrelated idle times.
    static constexpr int tolerance_percent = 10;
    static constexpr duration min_tolerance = std::chrono::milliseconds(50);
    // How long a close that is not confirmed keeps requests that cannot be replayed careful.
    static constexpr duration unconfirmed_window = std::chrono::minutes(2);

    // thread_safe: the blocking face, whose connections run on many threads.
    explicit idle_learner(bool thread_safe) : thread_safe_(thread_safe) {}

    // A pooled connection idle for `age` was found closed by the server (FIN or RST) at
    // `when`: as it came (EPOLLRDHUP while idle), or by the probe before reuse, which makes
    // `age` an upper bound of when it closed.
    void closed(duration age, time_point when);
    // A connection found open after `age` idle (the probe before reuse, or a close of ours
    // with no close of the server seen before it): the server keeps them at least that long.
    void alive(duration age);
    // The server said Keep-Alive: timeout=N (it wins over what is learned, per connection).
    void advertised(duration timeout);

    // How long a connection that has no advertised timeout may have been idle and still be
    // reused: the learned timeout minus the margin for every request; while nothing is
    // learned, no limit for a replayable request (the probe and the one retry cover it), and
    // for one that cannot be replayed the margin, or the longest idle time seen survived
    // minus the margin if longer, but never past a recent close minus the margin.
    // duration::max(): no limit; zero or less: no reuse.
    duration reuse_limit(bool replayable, duration margin, time_point now) const;

    idle_timeout_stats stats() const;

    static duration tolerance(duration age) {
        return std::max(min_tolerance, age * tolerance_percent / 100);
    }

  private:
    struct close_seen {
        duration age{};
        time_point when{};
        bool valid = false;
    };
    std::unique_lock<std::mutex> lock() const {
        return thread_safe_ ? std::unique_lock(mutex_) : std::unique_lock<std::mutex>();
    }

    const bool thread_safe_;
    mutable std::mutex mutex_;
    std::array<close_seen, 8> recent_{};  // the last closes, a ring
    std::size_t next_ = 0;
    std::optional<duration> learned_;  // confirmed by two closes
    duration longest_alive_{0};        // no recent close is shorter (closed() caps it)
    std::optional<duration> advertised_;
    std::uint64_t idle_closes_ = 0;
};

}  // namespace waitless::http::detail
