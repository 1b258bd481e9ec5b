// A factory that fails, throws or hangs: errors reach callers, timeouts free the pool.
#include <gtest/gtest.h>

#include <future>

#include "fixture.hpp"

namespace waitless::pool::testing {
namespace {

TEST(PoolFactoryFailure, CreateFailureReachesTheWaiterWithTheFactoryError) {
    options o;
    o.maintenance_interval = 0s;
    test_factory f;
    test_pool p(f, o);
    f.script->fail_create = true;
    auto r = p.acquire();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::connection_refused);
    EXPECT_EQ(p.stats().create_failures, 1u);
    EXPECT_EQ(p.stats().size, 0u);
    f.script->fail_create = false;
    EXPECT_TRUE(p.acquire());
    expect_balanced(p);
}

TEST(PoolFactoryFailure, AThrowingFactoryBecomesCreateFailed) {
    options o;
    o.maintenance_interval = 0s;
    test_factory f;
    test_pool p(f, o);
    f.script->throw_create = true;
    auto r = p.acquire();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::create_failed);
    f.script->throw_create = false;
    EXPECT_TRUE(p.acquire());
    expect_balanced(p);
}

TEST(PoolFactoryFailure, MinWarmUpRetriesAfterFailuresOnTheNextMaintenance) {
    manual_clock clk;
    auto o = manual_options(clk);
    o.min = 2;
    test_factory f;
    f.script->fail_create = true;
    test_pool p(f, o);
    ASSERT_TRUE(eventually([&] { return p.stats().create_failures == 2; }));
    EXPECT_EQ(p.stats().size, 0u);
    f.script->fail_create = false;
    p.maintain();
    ASSERT_TRUE(eventually([&] { return p.stats().idle == 2; }));
    expect_balanced(p);
}

TEST(PoolFactoryFailure, CreateHangingPastCreateTimeoutFailsTheWaiter) {
    manual_clock clk;
    auto o = manual_options(clk, 1);
    o.create_timeout = 2s;
    o.acquire_timeout = 60s;
    test_factory f;
    test_pool p(f, o);
    f.script->create_gate.close();
    auto waiting = std::async(std::launch::async, [&] { return p.acquire(); });
    ASSERT_TRUE(eventually([&] { return f.script->create_gate.held() == 1; }));
    clk.advance(3s);
    p.maintain();
    auto r = waiting.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::create_timeout);
    auto st = p.stats();
    EXPECT_EQ(st.create_timeouts, 1u);
    EXPECT_EQ(st.size, 0u);  // the slot is free again
    EXPECT_EQ(st.jobs, 1u);  // the hung call is still running
    // The late resource is destroyed by its own worker, and counted.
    f.script->create_gate.open();
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 1; }));
    EXPECT_EQ(f.script->creates, 1);
    ASSERT_TRUE(eventually([&] { return p.stats().jobs == 0; }));
    expect_balanced(p);
}

TEST(PoolFactoryFailure, ValidationHangingPastItsTimeoutCountsAsFailed) {
    manual_clock clk;
    auto o = manual_options(clk, 1);
    o.validate_on_return = true;
    o.validate_timeout = 1s;
    test_factory f;
    test_pool p(f, o);
    f.script->validate_gate.close();
    p.acquire()->release();
    ASSERT_TRUE(eventually([&] { return f.script->validate_gate.held() == 1; }));
    clk.advance(2s);
    p.maintain();
    EXPECT_EQ(p.stats().validation_failures, 1u);
    EXPECT_EQ(p.stats().size, 0u);
    auto fresh = p.acquire();  // not stuck behind the hung validation
    ASSERT_TRUE(fresh);
    EXPECT_EQ(**fresh, 2);
    f.script->validate_gate.open();
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 1; }));
    fresh->release();
    expect_balanced(p);
}

TEST(PoolFactoryFailure, DestroyHangingPastDestroyTimeoutFreesTheSlot) {
    manual_clock clk;
    auto o = manual_options(clk, 1);
    o.destroy_timeout = 1s;
    std::atomic<int> timeouts_seen{0};
    o.on_event = [&](const event& e) {
        if (e.kind == event_kind::destroy_timeout) ++timeouts_seen;
    };
    test_factory f;
    test_pool p(f, o);
    f.script->destroy_gate.close();
    p.acquire()->invalidate();
    ASSERT_TRUE(eventually([&] { return f.script->destroy_gate.held() == 1; }));
    EXPECT_EQ(p.stats().closing, 1u);
    acquire_options now_only;
    now_only.timeout = 0s;
    EXPECT_EQ(p.acquire(now_only).error(), errc::timeout);  // max 1, still closing
    clk.advance(2s);
    p.maintain();
    EXPECT_EQ(timeouts_seen, 1);
    auto st = p.stats();
    EXPECT_EQ(st.destroy_timeouts, 1u);
    EXPECT_EQ(st.size, 0u);
    auto next = p.acquire();
    ASSERT_TRUE(next);
    EXPECT_EQ(**next, 2);
    next->release();
    f.script->destroy_gate.open();
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 1; }));
    expect_balanced(p);
    EXPECT_EQ(f.script->destroys, 2);
}

TEST(PoolFactoryFailure, DrainIsNotHeldUpByAHungDestroy) {
    options o;
    o.destroy_timeout = 50ms;
    o.maintenance_interval = 0s;
    test_factory f;
    test_pool p(f, o);
    p.acquire()->release();
    f.script->destroy_gate.close();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(p.drain(20s));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
    const auto st = p.stats();
    EXPECT_EQ(st.destroy_timeouts, 1u);
    EXPECT_EQ(st.created, st.destroyed);
    f.script->destroy_gate.open();
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 1; }));
}

}  // namespace
}  // namespace waitless::pool::testing
