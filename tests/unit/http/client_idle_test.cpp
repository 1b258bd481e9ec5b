// What the client learns of an unadvertised idle timeout: confirmed by two closes after the same
// idle time at different moments, never by a mass close; forgotten when a connection outlives
// it; and how long an idle connection may carry a request that cannot be replayed meanwhile.
// Also the jitter of max_lifetime.
#include "http/client_idle.hpp"

#include <gtest/gtest.h>

#include <set>

#include "http/client_connector.hpp"

namespace waitless::http::detail {
namespace {

using namespace std::chrono_literals;
using duration = idle_learner::duration;
using time_point = idle_learner::time_point;

const time_point start = time_point(1h);
constexpr duration margin = 250ms;
constexpr duration none = duration::max();

TEST(IdleLearner, NothingSeenLeavesReplayableRequestsUnboundedAndOthersWithinTheMargin) {
    idle_learner l(false);
    EXPECT_EQ(l.reuse_limit(true, margin, start), none);
    EXPECT_EQ(l.reuse_limit(false, margin, start), margin);
    EXPECT_FALSE(l.stats().learned);
    EXPECT_EQ(l.stats().idle_closes, 0u);
}

TEST(IdleLearner, TwoClosesAfterTheSameIdleTimeAtDifferentMomentsAreLearned) {
    idle_learner l(false);
    l.closed(1003ms, start);
    EXPECT_FALSE(l.stats().learned) << "one close is not yet a timeout";
    // Meanwhile a request that cannot be replayed stays clear of it.
    EXPECT_EQ(l.reuse_limit(false, margin, start + 1s), margin);
    EXPECT_EQ(l.reuse_limit(true, margin, start + 1s), none);
    l.closed(1001ms, start + 2s);
    ASSERT_TRUE(l.stats().learned);
    EXPECT_EQ(*l.stats().learned, 1001ms);
    EXPECT_EQ(l.reuse_limit(true, margin, start + 3s), 1001ms - margin);
    EXPECT_EQ(l.reuse_limit(false, margin, start + 3s), 1001ms - margin);
    EXPECT_EQ(l.stats().idle_closes, 2u);
    // A shorter confirmed pair lowers it; a longer one does not raise it.
    l.closed(5s, start + 10s);
    l.closed(5s, start + 20s);
    EXPECT_EQ(*l.stats().learned, 1001ms);
}

TEST(IdleLearner, ClosesAtOneMomentAfterDifferentIdleTimesAreARestartNotATimeout) {
    idle_learner l(false);
    for (auto age : {20ms, 300ms, 700ms, 1200ms}) l.closed(age, start);
    EXPECT_FALSE(l.stats().learned);
    // Two connections used together and closed together prove nothing either.
    l.closed(500ms, start + 5s);
    l.closed(500ms, start + 5s + 10ms);
    EXPECT_FALSE(l.stats().learned);
    // Replayable requests keep reusing; the others are careful for a while.
    EXPECT_EQ(l.reuse_limit(true, margin, start + 6s), none);
    EXPECT_LE(l.reuse_limit(false, margin, start + 6s), duration::zero());
    EXPECT_EQ(l.reuse_limit(false, margin, start + 5s + idle_learner::unconfirmed_window + 1s),
              margin);
}

TEST(IdleLearner, AConnectionThatOutlivesTheLearnedTimeoutMakesItForgotten) {
    idle_learner l(false);
    l.closed(1s, start);
    l.closed(1s, start + 3s);
    ASSERT_TRUE(l.stats().learned);
    l.alive(1020ms);  // within the tolerance: the same timeout, seen a little early
    ASSERT_TRUE(l.stats().learned);
    l.alive(3s);  // the server keeps connections longer now
    EXPECT_FALSE(l.stats().learned);
    EXPECT_EQ(l.reuse_limit(true, margin, start + 4s), none);
    // What survived is known: a request that cannot be replayed may use nearly as much.
    EXPECT_EQ(l.reuse_limit(false, margin, start + 4s), 3s - margin);
}

TEST(IdleLearner, SurvivedIdleTimesWidenTheLimitForRequestsThatCannotBeReplayed) {
    idle_learner l(false);
    l.alive(100ms);
    EXPECT_EQ(l.reuse_limit(false, margin, start), margin);
    l.alive(10s);
    EXPECT_EQ(l.reuse_limit(false, margin, start), 10s - margin);
    // A close after a shorter idle time caps it at once, confirmed or not.
    l.closed(2s, start + 1s);
    EXPECT_EQ(l.reuse_limit(false, margin, start + 1s), 2s - margin);
    EXPECT_EQ(l.reuse_limit(true, margin, start + 1s), none);
}

TEST(IdleLearner, AdvertisedTimeoutsAreReported) {
    idle_learner l(true);
    l.advertised(5s);
    ASSERT_TRUE(l.stats().advertised);
    EXPECT_EQ(*l.stats().advertised, 5000ms);
}

TEST(LifetimeJitter, CutsUpToTheFractionAndSpreadsTheConnections) {
    const duration max = 10min;
    EXPECT_EQ(jittered_lifetime(max, 0.1, 0), max);
    EXPECT_GE(jittered_lifetime(max, 0.1, ~std::uint64_t{0}), max * 9 / 10);
    EXPECT_LT(jittered_lifetime(max, 0.1, ~std::uint64_t{0}), max * 9 / 10 + 1s);
    EXPECT_EQ(jittered_lifetime(max, 0.0, 12345), max);
    std::set<duration> seen;
    for (std::uint64_t i = 0; i < 100; ++i) {
        const auto d = jittered_lifetime(max, 0.1, i * 0x9e3779b97f4a7c15ULL);
        EXPECT_LE(d, max);
        EXPECT_GE(d, max * 9 / 10);
        seen.insert(std::chrono::duration_cast<std::chrono::seconds>(d));
    }
    EXPECT_GT(seen.size(), 30u) << "100 connections opened together retire at many moments";
}

}  // namespace
}  // namespace waitless::http::detail
