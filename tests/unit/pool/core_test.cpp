// The state machine alone: no threads, no factory; the test plays the worker and the clock.
#include "waitless/pool/detail/core.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace waitless::pool::detail {
namespace {

using namespace std::chrono_literals;

struct test_waiter final : waiter<int> {
    int completions = 0;
    void on_complete() noexcept override { ++completions; }
};

class PoolCore : public ::testing::Test {
  protected:
    void make(options o) {
        opt_ = std::move(o);
        core_.emplace(opt_, now_);
    }
    core<int>& c() { return *core_; }

    // Plays the worker threads: every queued factory call succeeds (creates number from 1).
    void run_jobs(bool valid = true) {
        while (auto j = c().pop_job(now_)) {
            switch (j->kind) {
                case job_kind::create: {
                    result<int> r = ++next_id_;
                    c().create_done(*j, r, now_);
                    break;
                }
                case job_kind::validate:
                    c().validate_done(*j, valid, now_);
                    break;
                case job_kind::destroy:
                    c().destroy_done(*j, now_);
                    break;
            }
        }
    }
    slot<int>* take() {
        std::error_code ec;
        auto* s = c().take(now_, std::source_location::current(), ec);
        EXPECT_FALSE(ec);
        return s;
    }
    void wait(test_waiter& w, priority level = priority::normal) {
        w.level = level;
        ASSERT_FALSE(c().enqueue(w, now_));
    }

    options opt_;
    time_point now_ = time_point(1h);
    int next_id_ = 0;
    std::optional<core<int>> core_;
};

TEST_F(PoolCore, AWaiterGetsTheResourceCreatedForIt) {
    make({});
    EXPECT_EQ(take(), nullptr);
    test_waiter w;
    wait(w);
    EXPECT_EQ(c().count(slot_state::creating), 1u);
    EXPECT_EQ(c().jobs_queued(), 1u);
    run_jobs();
    ASSERT_EQ(w.completions, 1);
    ASSERT_NE(w.granted, nullptr);
    EXPECT_EQ(*w.granted->resource, 1);
    EXPECT_EQ(w.granted->state, slot_state::borrowed);
    c().give_back(*w.granted, false, now_);
    EXPECT_EQ(c().count(slot_state::idle), 1u);
}

TEST_F(PoolCore, LifoHandsOutTheMostRecentlyReturned) {
    options o;
    o.min = 3;
    make(o);
    std::vector<event> events;
    c().maintain(now_, events);
    run_jobs();
    ASSERT_EQ(c().count(slot_state::idle), 3u);
    auto* a = take();
    auto* b = take();
    auto* d = take();
    c().give_back(*a, false, now_);
    c().give_back(*b, false, now_);
    c().give_back(*d, false, now_);
    EXPECT_EQ(take(), d);
    EXPECT_EQ(take(), b);
}

TEST_F(PoolCore, FifoHandsOutTheLongestIdle) {
    options o;
    o.min = 3;
    o.order = order::fifo;
    make(o);
    std::vector<event> events;
    c().maintain(now_, events);
    run_jobs();
    auto* a = take();
    auto* b = take();
    auto* d = take();
    c().give_back(*a, false, now_);
    c().give_back(*b, false, now_);
    c().give_back(*d, false, now_);
    EXPECT_EQ(take(), a);
    EXPECT_EQ(take(), b);
}

TEST_F(PoolCore, HigherPriorityWaitersAreServedFirstThenFifoWithinALevel) {
    options o;
    o.max = 1;
    make(o);
    test_waiter holder;
    wait(holder);
    run_jobs();
    ASSERT_NE(holder.granted, nullptr);
    test_waiter low, normal1, normal2, high;
    wait(low, priority::low);
    wait(normal1, priority::normal);
    wait(normal2, priority::normal);
    wait(high, priority::high);
    EXPECT_EQ(c().waiting(), 4u);
    auto* s = holder.granted;
    c().give_back(*s, false, now_);
    EXPECT_EQ(high.granted, s);
    c().give_back(*s, false, now_);
    EXPECT_EQ(normal1.granted, s);
    c().give_back(*s, false, now_);
    EXPECT_EQ(normal2.granted, s);
    c().give_back(*s, false, now_);
    EXPECT_EQ(low.granted, s);
    EXPECT_EQ(low.completions, 1);
}

TEST_F(PoolCore, MaxWaitingFailsFastAndCancelRemovesOnce) {
    options o;
    o.max = 1;
    o.max_waiting = 1;
    make(o);
    test_waiter a, b;
    wait(a);
    b.level = priority::normal;
    EXPECT_EQ(c().enqueue(b, now_), errc::too_many_waiters);
    EXPECT_TRUE(c().cancel(a, errc::cancelled));
    EXPECT_FALSE(c().cancel(a, errc::cancelled));
    EXPECT_EQ(a.error, errc::cancelled);
    EXPECT_EQ(a.completions, 1);
    EXPECT_EQ(c().waiting(), 0u);
    run_jobs();  // the create started for `a` lands idle
    EXPECT_EQ(c().count(slot_state::idle), 1u);
}

TEST_F(PoolCore, FailedCreateFailsOneUncoveredWaiterWithTheFactoryError) {
    options o;
    o.max = 1;
    make(o);
    test_waiter a, b;
    wait(a);
    wait(b);
    auto j = c().pop_job(now_);
    ASSERT_TRUE(j);
    result<int> r = std::unexpected(std::make_error_code(std::errc::connection_refused));
    EXPECT_TRUE(c().create_done(*j, r, now_));
    EXPECT_EQ(a.error, std::errc::connection_refused);
    EXPECT_EQ(b.completions, 0);  // b still waits; a new create was started for it
    EXPECT_EQ(c().count(slot_state::creating), 1u);
    run_jobs();
    EXPECT_NE(b.granted, nullptr);
}

TEST_F(PoolCore, AbandonedCreateTimesOutAndItsLateResultIsRefused) {
    options o;
    o.max = 1;
    o.create_timeout = 1s;
    make(o);
    test_waiter a;
    wait(a);
    auto j = c().pop_job(now_);
    now_ += 2s;
    std::vector<event> events;
    c().maintain(now_, events);
    EXPECT_EQ(a.error, errc::create_timeout);
    EXPECT_EQ(c().abandoned(), 1u);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].error, errc::create_timeout);
    result<int> late = 7;
    EXPECT_FALSE(c().create_done(*j, late, now_));
    EXPECT_EQ(c().abandoned(), 0u);
    EXPECT_EQ(c().size(), 0u);
}

TEST_F(PoolCore, MaxUsesClosesOnReturnAndInvalidateCloses) {
    options o;
    o.max_uses = 2;
    o.min = 1;
    make(o);
    std::vector<event> events;
    c().maintain(now_, events);
    run_jobs();
    auto* s = take();
    c().give_back(*s, false, now_);
    EXPECT_EQ(s->state, slot_state::idle);
    s = take();
    c().give_back(*s, false, now_);
    EXPECT_EQ(s->state, slot_state::closing);
    EXPECT_EQ(s->reason, close_reason::max_uses);
    run_jobs();
    c().maintain(now_, events);  // min refills
    run_jobs();
    s = take();
    c().give_back(*s, true, now_);
    EXPECT_EQ(s->reason, close_reason::invalidated);
}

TEST_F(PoolCore, ValidateOnBorrowRoutesStaleResourcesThroughValidating) {
    options o;
    o.min = 1;
    o.validate_on_borrow = true;
    o.validate_bypass = 1s;
    make(o);
    std::vector<event> events;
    c().maintain(now_, events);
    run_jobs();
    auto* s = take();  // just created: within the bypass window
    ASSERT_NE(s, nullptr);
    c().give_back(*s, false, now_);
    now_ += 2s;
    EXPECT_EQ(take(), nullptr);
    EXPECT_EQ(c().count(slot_state::validating), 1u);
    run_jobs(true);
    EXPECT_EQ(take(), s);
}

TEST_F(PoolCore, ShutFailsWaitersAndClosesIdle) {
    options o;
    o.max = 1;
    make(o);
    test_waiter holder, w;
    wait(holder);
    run_jobs();
    wait(w);
    c().shut(now_);
    EXPECT_EQ(w.error, errc::draining);
    std::error_code ec;
    EXPECT_EQ(c().take(now_, {}, ec), nullptr);
    EXPECT_EQ(ec, errc::draining);
    c().give_back(*holder.granted, false, now_);
    EXPECT_EQ(c().count(slot_state::closing), 1u);
    run_jobs();
    EXPECT_EQ(c().size(), 0u);
}

TEST_F(PoolCore, ShrinkingClosesReturnsBeforeServingWaiters) {
    options o;
    o.max = 2;
    make(o);
    test_waiter a, b, w;
    wait(a);
    wait(b);
    run_jobs();
    ASSERT_TRUE(a.granted && b.granted);
    wait(w);
    ASSERT_FALSE(c().resize(1, 0, now_));
    c().give_back(*a.granted, false, now_);
    EXPECT_EQ(a.granted->state, slot_state::closing);
    EXPECT_EQ(w.completions, 0);
    run_jobs();  // destroyed; size 1 == max: nothing new is created
    EXPECT_EQ(c().size(), 1u);
    c().give_back(*b.granted, false, now_);
    EXPECT_EQ(w.granted, b.granted);
}

TEST(PoolCoreDeathTest, IllegalTransitionIsFatal) {
    options o;
    core<int> c(o, time_point(1h));
    slot<int> s;
    EXPECT_DEATH(c.transition(s, slot_state::idle, time_point(1h)), "invariant failed");
}

}  // namespace
}  // namespace waitless::pool::detail
