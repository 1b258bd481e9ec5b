// The blocking face: acquire, limits, timeouts, cancellation, priorities, validation, leases.
#include <gtest/gtest.h>

#include <future>
#include <stop_token>
#include <thread>

#include "fixture.hpp"

namespace waitless::pool::testing {
namespace {

options real_time(std::size_t max = 2) {
    options o;
    o.max = max;
    o.maintenance_interval = 10ms;
    return o;
}

TEST(PoolAcquire, CreatesOnDemandAndReusesOnReturn) {
    test_pool p(test_factory{}, real_time());
    {
        auto l = p.acquire();
        ASSERT_TRUE(l) << l.error().message();
        EXPECT_EQ(**l, 1);
        EXPECT_EQ(p.stats().borrowed, 1u);
    }
    auto st = p.stats();
    EXPECT_EQ(st.idle, 1u);
    EXPECT_EQ(st.borrowed, 0u);
    auto again = p.acquire();
    ASSERT_TRUE(again);
    EXPECT_EQ(**again, 1);
    EXPECT_EQ(again->uses(), 1u);
    EXPECT_EQ(p.stats().created, 1u);
    again->release();
    expect_balanced(p);
}

TEST(PoolAcquire, NeverExceedsMaxAndTimesOut) {
    test_pool p(test_factory{}, real_time(2));
    auto a = p.acquire();
    auto b = p.acquire();
    ASSERT_TRUE(a && b);
    acquire_options ao;
    ao.timeout = 50ms;
    const auto start = std::chrono::steady_clock::now();
    auto c = p.acquire(ao);
    const auto waited = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), errc::timeout);
    EXPECT_GE(waited, 40ms);  // the coarse clock may start the deadline a tick early
    const auto st = p.stats();
    EXPECT_EQ(st.size, 2u);
    EXPECT_EQ(st.timeouts, 1u);
    EXPECT_EQ(st.pending, 0u);
    a->release();
    b->release();
    expect_balanced(p);
}

TEST(PoolAcquire, ZeroTimeoutFailsAtOnceAndTryAcquireWouldBlock) {
    test_pool p(test_factory{}, real_time(1));
    auto a = p.acquire();
    acquire_options ao;
    ao.timeout = 0s;
    EXPECT_EQ(p.acquire(ao).error(), errc::timeout);
    EXPECT_EQ(p.try_acquire().error(), errc::would_block);
    a->release();
    EXPECT_TRUE(p.try_acquire());
    expect_balanced(p);
}

TEST(PoolAcquire, AWaiterGetsAReturnedResource) {
    test_pool p(test_factory{}, real_time(1));
    auto a = p.acquire();
    auto waiting = std::async(std::launch::async, [&] { return p.acquire(); });
    ASSERT_TRUE(eventually([&] { return p.stats().pending == 1; }));
    a->release();
    auto got = waiting.get();
    ASSERT_TRUE(got);
    EXPECT_EQ(**got, 1);
    got->release();
    expect_balanced(p);
}

TEST(PoolAcquire, MaxWaitingFailsFast) {
    auto o = real_time(1);
    o.max_waiting = 1;
    test_pool p(test_factory{}, o);
    auto a = p.acquire();
    auto waiting = std::async(std::launch::async, [&] { return p.acquire(); });
    ASSERT_TRUE(eventually([&] { return p.stats().pending == 1; }));
    auto rejected = p.acquire();
    ASSERT_FALSE(rejected);
    EXPECT_EQ(rejected.error(), errc::too_many_waiters);
    EXPECT_EQ(p.stats().rejected, 1u);
    a->release();
    EXPECT_TRUE(waiting.get());
    expect_balanced(p);
}

TEST(PoolAcquire, StopTokenCancelsAWaiter) {
    test_pool p(test_factory{}, real_time(1));
    auto a = p.acquire();
    std::stop_source stop;
    auto waiting = std::async(std::launch::async, [&] {
        acquire_options ao;
        ao.stop = stop.get_token();
        ao.timeout = duration::max();
        return p.acquire(ao);
    });
    ASSERT_TRUE(eventually([&] { return p.stats().pending == 1; }));
    stop.request_stop();
    auto r = waiting.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::cancelled);
    EXPECT_EQ(p.stats().cancelled, 1u);
    EXPECT_EQ(p.stats().pending, 0u);
    // Already stopped: fails without waiting.
    acquire_options ao;
    ao.stop = stop.get_token();
    EXPECT_EQ(p.acquire(ao).error(), errc::cancelled);
    a->release();
    expect_balanced(p);
}

TEST(PoolAcquire, HighPriorityWaiterIsServedBeforeEarlierNormalOnes) {
    test_pool p(test_factory{}, real_time(1));
    auto a = p.acquire();
    std::atomic<int> order{0};
    std::atomic<int> normal_rank{0}, high_rank{0};
    auto normal = std::async(std::launch::async, [&] {
        auto l = p.acquire();
        normal_rank = ++order;
        return l.has_value();
    });
    ASSERT_TRUE(eventually([&] { return p.stats().pending == 1; }));
    auto high = std::async(std::launch::async, [&] {
        acquire_options ao;
        ao.priority = priority::high;
        auto l = p.acquire(ao);
        high_rank = ++order;
        return l.has_value();
    });
    ASSERT_TRUE(eventually([&] { return p.stats().pending == 2; }));
    a->release();
    EXPECT_TRUE(high.get());
    EXPECT_TRUE(normal.get());
    EXPECT_EQ(high_rank, 1);
    EXPECT_EQ(normal_rank, 2);
    expect_balanced(p);
}

TEST(PoolAcquire, MaxUsesRetiresAResourceAfterItsLastUse) {
    auto o = real_time(1);
    o.max_uses = 3;
    test_factory f;
    test_pool p(f, o);
    for (int i = 0; i < 7; ++i) {
        auto l = p.acquire();
        ASSERT_TRUE(l);
        EXPECT_EQ(**l, i / 3 + 1) << "use " << i;
    }
    expect_balanced(p);
    EXPECT_EQ(f.script->creates, 3);
    EXPECT_EQ(f.script->destroys, 3);
}

TEST(PoolAcquire, InvalidateDestroysInsteadOfReturning) {
    test_factory f;
    test_pool p(f, real_time(1));
    {
        auto l = p.acquire();
        l->invalidate();
        EXPECT_FALSE(*l);
    }
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 1; }));
    auto l = p.acquire();
    ASSERT_TRUE(l);
    EXPECT_EQ(**l, 2);
    l->release();
    expect_balanced(p);
}

TEST(PoolAcquire, ValidateOnBorrowRunsOutsideTheBypassWindowOnly) {
    manual_clock clk;
    auto o = manual_options(clk, 1);
    o.validate_on_borrow = true;
    o.validate_bypass = 100ms;
    test_factory f;
    test_pool p(f, o);
    p.acquire()->release();  // created now: no validation needed
    p.acquire()->release();  // used just now: bypassed
    EXPECT_EQ(f.script->validations, 0);
    clk.advance(150ms);
    auto l = p.acquire();
    ASSERT_TRUE(l);
    EXPECT_EQ(f.script->validations, 1);
    EXPECT_EQ(**l, 1);
    l->release();
    // A resource that fails validation is destroyed and the caller gets a fresh one.
    clk.advance(150ms);
    f.script->validate_ok = false;
    auto fresh = p.acquire();
    ASSERT_TRUE(fresh) << fresh.error().message();
    EXPECT_EQ(**fresh, 2);
    EXPECT_EQ(p.stats().validation_failures, 1u);
    fresh->release();
    expect_balanced(p);
}

TEST(PoolAcquire, ValidateOnReturnReallyRuns) {
    auto o = real_time(1);
    o.validate_on_return = true;
    test_factory f;
    test_pool p(f, o);
    p.acquire()->release();
    ASSERT_TRUE(eventually([&] { return f.script->validations == 1 && p.stats().idle == 1; }));
    f.script->validate_ok = false;
    p.acquire()->release();
    ASSERT_TRUE(eventually([&] { return f.script->destroys == 1; }));
    EXPECT_EQ(p.stats().validation_failures, 1u);
    auto l = p.acquire();
    EXPECT_EQ(**l, 2);
    l->release();
    expect_balanced(p);
}

TEST(PoolAcquire, LeaseMovesAndRemembersWhereItWasTaken) {
    test_pool p(test_factory{}, real_time(1));
    const int line = __LINE__ + 1;
    auto r = p.acquire();
    ASSERT_TRUE(r);
    lease<int> moved = std::move(*r);
    EXPECT_FALSE(*r);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved.where().line(), static_cast<unsigned>(line));
    lease<int> other;
    other = std::move(moved);
    EXPECT_EQ(*other, 1);
    EXPECT_EQ(p.stats().borrowed, 1u);
    other = lease<int>();
    EXPECT_EQ(p.stats().borrowed, 0u);
    expect_balanced(p);
}

}  // namespace
}  // namespace waitless::pool::testing
