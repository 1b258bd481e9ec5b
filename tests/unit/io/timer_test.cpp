#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "waitless/io/deadline_list.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/timer.hpp"

// Coroutine lambdas take what they use as parameters (a capture would dangle once the lambda
// object is gone), named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::io {
namespace {

using namespace std::chrono_literals;

struct recorder {
    std::vector<int> fired;
};

struct numbered_timer {
    timer t{[](timer& self) {
        auto* n = static_cast<numbered_timer*>(self.target);
        n->rec->fired.push_back(n->number);
    }};
    int number = 0;
    recorder* rec = nullptr;
    numbered_timer() { t.target = this; }
};

TEST(TimerHeap, FiresInDeadlineOrderWhateverTheArmingOrder) {
    timer_heap heap;
    recorder rec;
    std::vector<numbered_timer> timers(200);
    std::vector<int> order(200);
    for (int i = 0; i < 200; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(7));
    const auto base = clock::now();
    for (int i : order) {
        timers[i].number = i;
        timers[i].rec = &rec;
        heap.arm(timers[i].t, base + std::chrono::milliseconds(i));
    }
    heap.expire(base + 99ms);
    ASSERT_EQ(rec.fired.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(rec.fired[i], i);
    EXPECT_EQ(heap.size(), 100u);
}

TEST(TimerHeap, DisarmAndRearmMoveATimer) {
    timer_heap heap;
    recorder rec;
    std::vector<numbered_timer> timers(50);
    const auto base = clock::now();
    for (int i = 0; i < 50; ++i) {
        timers[i].number = i;
        timers[i].rec = &rec;
        heap.arm(timers[i].t, base + std::chrono::milliseconds(i));
    }
    for (int i = 0; i < 50; i += 2) heap.disarm(timers[i].t);  // the even ones never fire
    heap.arm(timers[49].t, base);                              // the last one goes first
    heap.expire(base + 1h);
    ASSERT_EQ(rec.fired.size(), 25u);
    EXPECT_EQ(rec.fired.front(), 49);
    for (std::size_t i = 1; i < rec.fired.size(); ++i) EXPECT_EQ(rec.fired[i], 2 * i - 1);
    EXPECT_TRUE(heap.empty());
    for (auto& t : timers) EXPECT_FALSE(t.t.armed());
}

TEST(DeadlineList, ExpiresInOrderAndForgetsUnlinked) {
    using namespace std::chrono_literals;
    deadline_list list(100ms);
    deadline_hook a, b, c;
    const auto t0 = clock::now();
    list.push(a, t0);
    list.push(b, t0 + 10ms);
    list.push(c, t0 + 20ms);
    b.unlink();
    list.push(a, t0 + 30ms);  // refreshed: to the back
    std::vector<deadline_hook*> expired;
    list.expire(t0 + 125ms, [&](deadline_hook& h) { expired.push_back(&h); });
    EXPECT_EQ(expired, std::vector<deadline_hook*>{&c});
    EXPECT_FALSE(c.armed());
    EXPECT_TRUE(a.armed());
    EXPECT_EQ(list.front(), &a);
    list.expire(t0 + 130ms, [&](deadline_hook& h) { expired.push_back(&h); });
    EXPECT_TRUE(list.empty());
    EXPECT_EQ(expired.size(), 2u);
}

TEST(Loop, SleepWaitsAtLeastItsTime) {
    const auto start = clock::now();
    block_on([]() -> task<void> { co_await loop::current()->sleep_for(30ms); }());
    EXPECT_GE(clock::now() - start, 30ms);
}

TEST(Loop, ManySleepersWakeInTheirOrder) {
    std::vector<int> woke;
    block_on([](std::vector<int>& woke) -> task<void> {
        loop& l = *loop::current();
        auto sleeper = [](loop& l, std::vector<int>& woke, int n) -> task<void> {
            co_await l.sleep_for(std::chrono::milliseconds(5 * n));
            woke.push_back(n);
        };
        co_await when_all(when_all(sleeper(l, woke, 3), sleeper(l, woke, 1)),
                          when_all(sleeper(l, woke, 4), sleeper(l, woke, 2)));
    }(woke));
    EXPECT_EQ(woke, (std::vector<int>{1, 2, 3, 4}));
}

TEST(Alarm, RingsAfterItsTimeOrEndsEarlyWhenCancelled) {
    bool rang = false, cut = true;
    const auto start = clock::now();
    block_on([](bool& rang, bool& cut) -> task<void> {
        loop& l = *loop::current();
        alarm a(l), b(l);
        rang = co_await a.wait_for(20ms);
        auto canceller = [](alarm& b, loop& l) -> task<void> {
            co_await l.yield();
            b.cancel();
        };
        auto sleeper = [](alarm& b, bool& cut) -> task<void> { cut = co_await b.wait_for(1h); };
        co_await when_all(sleeper(b, cut), canceller(b, l));
    }(rang, cut));
    EXPECT_TRUE(rang);
    EXPECT_FALSE(cut);
    EXPECT_LT(clock::now() - start, 5s);
}

TEST(Loop, PostFromAnotherThreadWakesTheLoop) {
    loop l;
    std::atomic<bool> ran{false};
    std::thread other([&] {
        std::this_thread::sleep_for(20ms);
        l.post([&] {
            ran = true;
            l.stop();
        });
    });
    const auto start = clock::now();
    l.run();  // no timers, no descriptors: only the post can end this
    other.join();
    EXPECT_TRUE(ran);
    EXPECT_LT(clock::now() - start, 5s);
}

TEST(Loop, CurrentIsTheRunningLoopOnly) {
    EXPECT_EQ(loop::current(), nullptr);
    loop* seen = nullptr;
    loop l;
    l.start([](loop*& seen) -> task<void> {
        seen = loop::current();
        loop::current()->stop();
        co_return;
    }(seen));
    l.run();
    EXPECT_EQ(seen, &l);
    EXPECT_EQ(loop::current(), nullptr);
}

}  // namespace
}  // namespace waitless::io
