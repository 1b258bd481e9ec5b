// Lifecycle: min kept warm, drain with leases out, clear, resize, destruction, event hooks.
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <vector>

#include "fixture.hpp"

namespace waitless::pool::testing {
namespace {

TEST(PoolLifecycle, MinIsKeptWarmInTheBackground) {
    options o;
    o.max = 4;
    o.min = 3;
    o.maintenance_interval = 10ms;
    test_factory f;
    test_pool p(f, o);
    ASSERT_TRUE(eventually([&] { return p.stats().idle == 3; }));
    {
        auto l = p.acquire();
        l->invalidate();
    }
    // The invalidated one is replaced without anyone asking.
    ASSERT_TRUE(eventually([&] { return p.stats().idle == 3 && f.script->creates == 4; }));
    expect_balanced(p);
}

TEST(PoolLifecycle, DrainWaitsForLeasesAndRefusesNewAcquires) {
    options o;
    o.max = 2;
    o.maintenance_interval = 10ms;
    test_factory f;
    test_pool p(f, o);
    auto a = p.acquire();
    auto b = p.acquire();
    ASSERT_TRUE(a && b);
    b->release();
    auto waiter = std::async(std::launch::async, [&] {
        acquire_options ao;
        ao.timeout = duration::max();
        auto l1 = p.acquire();  // the idle one
        return std::pair(l1.has_value(), p.acquire(ao));
    });
    ASSERT_TRUE(eventually([&] { return p.stats().pending == 1; }));
    auto drained = std::async(std::launch::async, [&] { return p.drain(); });
    auto [first_ok, second] = waiter.get();
    EXPECT_TRUE(first_ok);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), errc::draining);  // waiters fail at once
    EXPECT_EQ(p.acquire().error(), errc::draining);
    // Still one lease out (a): drain has not finished.
    EXPECT_EQ(drained.wait_for(50ms), std::future_status::timeout);
    a->release();
    EXPECT_TRUE(drained.get());
    const auto st = p.stats();
    EXPECT_EQ(st.size, 0u);
    EXPECT_EQ(st.created, st.destroyed);
    EXPECT_EQ(f.script->creates, f.script->destroys);
}

TEST(PoolLifecycle, DrainWithALimitReportsALeaseThatNeverComesBack) {
    options o;
    o.maintenance_interval = 0s;
    test_pool p(test_factory{}, o);
    auto a = p.acquire();
    EXPECT_FALSE(p.drain(30ms));
    a->release();
    expect_balanced(p);
}

TEST(PoolLifecycle, ClearDestroysIdleButNotBorrowed) {
    options o;
    o.max = 3;
    o.maintenance_interval = 0s;
    test_factory f;
    test_pool p(f, o);
    auto a = p.acquire();
    p.acquire()->release();
    {
        auto b = p.acquire();
        auto c = p.acquire();
    }
    ASSERT_EQ(p.stats().idle, 2u);
    p.clear();
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 2; }));
    EXPECT_EQ(p.stats().borrowed, 1u);
    EXPECT_EQ(p.stats().idle, 0u);
    EXPECT_TRUE(p.acquire());  // still open for business
    a->release();
    expect_balanced(p);
}

TEST(PoolLifecycle, ResizeShrinksAndGrowsAtRunTime) {
    options o;
    o.max = 4;
    o.maintenance_interval = 0s;
    test_factory f;
    test_pool p(f, o);
    std::vector<lease<int>> held;
    for (int i = 0; i < 4; ++i) held.push_back(std::move(*p.acquire()));
    held.pop_back();  // one idle, three borrowed
    ASSERT_TRUE(p.resize(2, 0));
    // The idle one goes at once, one borrowed one when it comes back.
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 1; }));
    held.pop_back();
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 2; }));
    EXPECT_EQ(p.stats().size, 2u);
    acquire_options ao;
    ao.timeout = 0s;
    EXPECT_EQ(p.acquire(ao).error(), errc::timeout);
    ASSERT_TRUE(p.resize(5, 0));
    for (int i = 0; i < 3; ++i) held.push_back(std::move(*p.acquire()));
    EXPECT_EQ(p.stats().size, 5u);
    held.clear();
    expect_balanced(p);
}

TEST(PoolLifecycle, ALeaseMayOutliveItsPool) {
    test_factory f;
    std::optional<lease<int>> kept;
    {
        options o;
        o.maintenance_interval = 0s;
        test_pool p(f, o);
        p.acquire()->release();
        kept.emplace(std::move(*p.acquire()));
        auto extra = p.acquire();  // a second resource, idle when the pool goes
        extra->release();
    }
    // The idle one was destroyed by the destructor; the leased one is still usable.
    EXPECT_EQ(f.script->destroys, 1);
    EXPECT_EQ(**kept, 1);
    kept.reset();  // returned to an orphaned pool: destroyed
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 2; }));
    EXPECT_EQ(f.script->creates, 2);
}

TEST(PoolLifecycle, EventsReportCreatesAndDestroysWithReasons) {
    std::mutex m;
    std::vector<event> seen;
    options o;
    o.max = 1;
    o.maintenance_interval = 0s;
    o.on_event = [&](const event& e) {
        std::lock_guard lk(m);
        seen.push_back(e);
    };
    test_pool p(test_factory{}, o);
    p.acquire()->invalidate();
    ASSERT_TRUE(eventually([&] { return p.stats().destroyed == 1; }));
    expect_balanced(p);
    std::lock_guard lk(m);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].kind, event_kind::created);
    EXPECT_EQ(seen[1].kind, event_kind::destroyed);
    EXPECT_EQ(seen[1].reason, close_reason::invalidated);
}

}  // namespace
}  // namespace waitless::pool::testing
