// How the client learns an origin's idle timeout from the closes it sees.
#include "client_idle.hpp"

#include <algorithm>

namespace waitless::http::detail {
namespace {

pool::duration distance(pool::duration a, pool::duration b) { return a > b ? a - b : b - a; }

std::chrono::milliseconds in_ms(pool::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

}  // namespace

void idle_learner::closed(duration age, time_point when) {
    auto guard = lock();
    ++idle_closes_;
    longest_alive_ = std::min(longest_alive_, age);
    for (auto& r : recent_) {
        if (!r.valid) continue;
        const auto apart = when > r.when ? when - r.when : r.when - when;
        if (apart > unconfirmed_window) {
            r.valid = false;
            continue;
        }
        const auto tolerated = tolerance(std::max(age, r.age));
        if (distance(age, r.age) <= tolerated && apart > tolerated) {
            const auto confirmed = std::min(age, r.age);
            learned_ = learned_ ? std::min(*learned_, confirmed) : confirmed;
        }
    }
    recent_[next_] = {age, when, true};
    next_ = (next_ + 1) % recent_.size();
}

void idle_learner::alive(duration age) {
    auto guard = lock();
    if (age <= longest_alive_) return;  // no recent close is shorter: nothing contradicted
    longest_alive_ = age;
    // Closes after a shorter idle time were not the timeout (a restart, a reload), or the
    // server keeps connections longer now.
    for (auto& r : recent_) {
        if (r.valid && r.age + tolerance(r.age) < age) r.valid = false;
    }
    if (learned_ && age > *learned_ + tolerance(*learned_)) learned_.reset();
}

void idle_learner::advertised(duration timeout) {
    auto guard = lock();
    advertised_ = timeout;
}

idle_learner::duration idle_learner::reuse_limit(bool replayable, duration margin,
                                                 time_point now) const {
    auto guard = lock();
    if (learned_) return *learned_ - margin;
    if (replayable) return duration::max();
    auto limit = std::max(margin, longest_alive_ - margin);
    for (const auto& r : recent_) {
        if (r.valid && now - r.when <= unconfirmed_window) limit = std::min(limit, r.age - margin);
    }
    return limit;
}

idle_timeout_stats idle_learner::stats() const {
    auto guard = lock();
    idle_timeout_stats s;
    if (advertised_) s.advertised = in_ms(*advertised_);
    if (learned_) s.learned = in_ms(*learned_);
    s.idle_closes = idle_closes_;
    return s;
}

}  // namespace waitless::http::detail
