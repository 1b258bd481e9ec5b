// Time-driven behaviour on a manual clock: idle timeout, jittered lifetimes, paced retirement,
// hysteresis, leak reports. No sleeps: the test moves time and calls maintain().
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <vector>

#include "fixture.hpp"

namespace waitless::pool::testing {
namespace {

// Borrows n resources at once (so n exist), then returns them all.
void fill(test_pool& p, std::size_t n) {
    std::vector<lease<int>> held;
    for (std::size_t i = 0; i < n; ++i) {
        auto l = p.acquire();
        ASSERT_TRUE(l) << l.error().message();
        held.push_back(std::move(*l));
    }
}

TEST(PoolRetirement, IdleTimeoutClosesDownToMin) {
    manual_clock clk;
    auto o = manual_options(clk, 4);
    o.min = 1;
    o.idle_timeout = 10s;
    test_factory f;
    test_pool p(f, o);
    fill(p, 3);
    ASSERT_EQ(p.stats().idle, 3u);
    advance(p, clk, 5s);
    p.maintain();
    EXPECT_EQ(p.stats().idle, 3u);
    advance(p, clk, 6s);
    p.maintain();
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 2; }));
    EXPECT_EQ(p.stats().idle, 1u);
    EXPECT_EQ(p.stats().retired, 2u);
    expect_balanced(p);
}

TEST(PoolRetirement, UseResetsTheIdleClock) {
    manual_clock clk;
    auto o = manual_options(clk, 2);
    o.idle_timeout = 10s;
    test_factory f;
    test_pool p(f, o);
    fill(p, 1);
    for (int i = 0; i < 5; ++i) {
        advance(p, clk, 6s);
        p.acquire()->release();
        p.maintain();
    }
    EXPECT_EQ(p.stats().retired, 0u);
    expect_balanced(p);
}

TEST(PoolRetirement, LifetimesAreJitteredSoResourcesDoNotExpireTogether) {
    manual_clock clk;
    auto o = manual_options(clk, 100);
    o.max_lifetime = 1000s;
    o.lifetime_jitter = 0.1;  // expiry somewhere in [900 s, 1000 s]
    o.idle_timeout = 0s;
    test_factory f;
    test_pool p(f, o);
    fill(p, 100);
    advance(p, clk, 890s);
    p.maintain();
    EXPECT_EQ(p.stats().retired, 0u);
    std::set<int> steps_with_closes;
    std::uint64_t before = 0;
    for (int step = 0; step < 11; ++step) {  // up to 1000 s exactly
        advance(p, clk, 10s);
        p.maintain();
        const auto retired = p.stats().retired;
        if (retired > before) steps_with_closes.insert(step);
        before = retired;
    }
    EXPECT_EQ(before, 100u);  // nobody outlives max_lifetime
    EXPECT_GE(steps_with_closes.size(), 6u) << "expiries bunched together";
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 100; }));
    expect_balanced(p);
}

TEST(PoolRetirement, DefaultJitterCutsUpToTwoAndAHalfPercent) {
    manual_clock clk;
    auto o = manual_options(clk, 50);
    o.max_lifetime = 1000s;
    o.idle_timeout = 0s;
    test_pool p(test_factory{}, o);
    fill(p, 50);
    advance(p, clk, 974s);
    p.maintain();
    EXPECT_EQ(p.stats().retired, 0u);
    advance(p, clk, 13s);  // 987 s: about half are past their jittered end
    p.maintain();
    const auto half = p.stats().retired;
    EXPECT_GT(half, 5u);
    EXPECT_LT(half, 45u);
    advance(p, clk, 13s);
    p.maintain();
    EXPECT_EQ(p.stats().retired, 50u);
    expect_balanced(p);
}

TEST(PoolRetirement, ABusyResourcePastItsLifetimeIsClosedOnReturn) {
    manual_clock clk;
    auto o = manual_options(clk, 1);
    o.max_lifetime = 100s;
    test_factory f;
    test_pool p(f, o);
    auto l = p.acquire();
    advance(p, clk, 101s);
    l->release();
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 1; }));
    EXPECT_EQ(**p.acquire(), 2);
    expect_balanced(p);
}

TEST(PoolRetirement, ClosesArePacedPerSecond) {
    manual_clock clk;
    auto o = manual_options(clk, 20);
    o.idle_timeout = 1s;
    o.max_closes_per_second = 5;
    test_factory f;
    test_pool p(f, o);
    fill(p, 20);
    advance(p, clk, 2s);
    p.maintain();
    EXPECT_EQ(p.stats().retired, 5u);  // a full bucket: one second's worth
    p.maintain();
    EXPECT_EQ(p.stats().retired, 5u);  // no time passed, no new tokens
    advance(p, clk, 200ms);
    p.maintain();
    EXPECT_EQ(p.stats().retired, 6u);
    advance(p, clk, 1s);
    p.maintain();
    EXPECT_EQ(p.stats().retired, 11u);
    advance(p, clk, 10s);
    p.maintain();
    EXPECT_EQ(p.stats().retired, 16u);  // the bucket never holds more than a second's worth
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 16; }));
    expect_balanced(p);
}

TEST(PoolRetirement, HysteresisKeepsARecentBurstsCapacity) {
    manual_clock clk;
    auto o = manual_options(clk, 10);
    o.idle_timeout = 1s;
    o.retire_hysteresis = 10s;
    test_factory f;
    test_pool p(f, o);
    fill(p, 8);  // a burst: 8 borrowed at once
    advance(p, clk, 2s);
    p.maintain();
    EXPECT_EQ(p.stats().retired, 0u);  // idle long enough, but the burst was recent
    advance(p, clk, 9s);
    p.maintain();  // new window; the burst is the previous window's peak
    EXPECT_EQ(p.stats().retired, 0u);
    advance(p, clk, 11s);
    p.maintain();  // the burst has left the window
    EXPECT_EQ(p.stats().retired, 8u);
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 8; }));
    expect_balanced(p);
}

TEST(PoolRetirement, LeakIsReportedOnceWithWhereTheLeaseWasTaken) {
    manual_clock clk;
    auto o = manual_options(clk, 2);
    o.leak_threshold = 5s;
    std::mutex m;
    std::vector<event> leaks;
    o.on_event = [&](const event& e) {
        std::lock_guard lk(m);
        if (e.kind == event_kind::leak) leaks.push_back(e);
    };
    test_pool p(test_factory{}, o);
    const unsigned line = __LINE__ + 1;
    auto held = p.acquire();
    p.acquire()->release();  // returned at once: never a leak
    advance(p, clk, 4s);
    p.maintain();
    EXPECT_EQ(p.stats().leaks, 0u);
    advance(p, clk, 2s);
    p.maintain();
    p.maintain();
    EXPECT_EQ(p.stats().leaks, 1u);
    {
        std::lock_guard lk(m);
        ASSERT_EQ(leaks.size(), 1u);
        EXPECT_EQ(leaks[0].where.line(), line);
        EXPECT_NE(std::string(leaks[0].where.file_name()).find("retirement_test.cpp"),
                  std::string::npos);
        EXPECT_GE(leaks[0].held, 6s);
    }
    held->release();
    expect_balanced(p);
}

}  // namespace
}  // namespace waitless::pool::testing
