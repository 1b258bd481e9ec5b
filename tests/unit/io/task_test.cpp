#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

// Coroutine lambdas take what they use as parameters (a capture would dangle once the lambda
// object is gone), named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::io {
namespace {

task<int> forty_two() { co_return 42; }

task<std::string> nested(int depth) {
    if (depth == 0) co_return std::string("bottom");
    auto below = co_await nested(depth - 1);
    co_return below + "+";
}

task<int> throws() {
    throw std::runtime_error("boom");
    co_return 0;
}

TEST(Task, ReturnsItsValueWhenAwaited) { EXPECT_EQ(block_on(forty_two()), 42); }

TEST(Task, DeepNestingCompletes) {
    // Each level starts the next by symmetric transfer and is resumed by it at its end.
    // (g++ resumes by a tail call only when optimising: unoptimised and sanitized builds recurse,
    // so the depth stays modest.)
    auto s = block_on(nested(1000));
    EXPECT_EQ(s.size(), std::string("bottom").size() + 1000);
}

TEST(Task, AnExceptionReachesTheAwaiter) { EXPECT_THROW(block_on(throws()), std::runtime_error); }

// A ready task has no coroutine behind it: awaiting it gives its value at once, also after a
// move, from a coroutine, from spawn() and from when_all().
TEST(Task, AReadyTaskGivesItsValueWithoutACoroutine) {
    auto t = task<std::string>::ready("here");
    EXPECT_TRUE(t.valid());
    auto moved = std::move(t);
    EXPECT_EQ(block_on(std::move(moved)), "here");
    EXPECT_EQ(block_on([]() -> task<int> {
                  const int a = co_await task<int>::ready(40);
                  const int b = co_await forty_two();
                  co_return a + b - 40;
              }()),
              42);
    block_on(task<void>::ready());
    int ran = 0;
    spawn(task<void>::ready());
    spawn([](int& ran) -> task<void> {
        co_await when_all(task<void>::ready(), task<void>::ready());
        ran = 1;
    }(ran));
    EXPECT_EQ(ran, 1);
    // Reassigning over a ready task, and over a coroutine one, leaves the new one's value.
    auto u = forty_two();
    u = task<int>::ready(7);
    EXPECT_EQ(block_on(std::move(u)), 7);
    auto v = task<int>::ready(1);
    v = forty_two();
    EXPECT_EQ(block_on(std::move(v)), 42);
}

TEST(Task, IsLazyUntilAwaited) {
    bool ran = false;
    auto t = [](bool& ran) -> task<void> {
        ran = true;
        co_return;
    }(ran);
    EXPECT_FALSE(ran);
    block_on(std::move(t));
    EXPECT_TRUE(ran);
}

// start() runs a task here up to its first wait; awaiting it then resumes the awaiter at its
// end without running it a second time. A task that needs no wait has ended at start().
TEST(Task, StartRunsUpToTheFirstWaitAndAwaitingJoinsIt) {
    loop l;
    int step = 0;
    auto t = [](loop& l, int& step) -> task<int> {
        step = 1;
        co_await l.yield();
        step = 2;
        co_return 42;
    }(l, step);
    EXPECT_FALSE(t.start());
    EXPECT_EQ(step, 1);
    EXPECT_FALSE(t.start()) << "a second start() does not resume it";
    int got = 0;
    spawn([](task<int> t, int& got, loop& l) -> task<void> {
        got = co_await std::move(t);
        l.stop();
    }(std::move(t), got, l));
    EXPECT_EQ(got, 0);
    l.run();
    EXPECT_EQ(step, 2);
    EXPECT_EQ(got, 42);

    auto done = forty_two();
    EXPECT_TRUE(done.start());
    EXPECT_EQ(block_on(std::move(done)), 42);
    auto ready = task<int>::ready(7);
    EXPECT_TRUE(ready.start());
    EXPECT_EQ(block_on(std::move(ready)), 7);
}

TEST(Task, SpawnRunsAtOnceUpToTheFirstSuspension) {
    loop l;
    int step = 0;
    spawn([](loop& l, int& step) -> task<void> {
        step = 1;
        co_await l.yield();
        step = 2;
        l.stop();
    }(l, step));
    EXPECT_EQ(step, 1);
    l.run();
    EXPECT_EQ(step, 2);
}

TEST(Task, WhenAllWaitsForBoth) {
    std::string order;
    block_on([](std::string& order) -> task<void> {
        loop& l = *loop::current();
        auto slow = [](loop& l, std::string& order) -> task<void> {
            co_await l.yield();
            co_await l.yield();
            order += "slow;";
        };
        auto fast = [](std::string& order) -> task<void> {
            order += "fast;";
            co_return;
        };
        co_await when_all(slow(l, order), fast(order));
        order += "joined";
    }(order));
    EXPECT_EQ(order, "fast;slow;joined");
}

TEST(Task, WhenAllRethrowsAfterBothEnded) {
    bool other_finished = false;
    EXPECT_THROW(block_on([](bool& other) -> task<void> {
                     loop& l = *loop::current();
                     auto bad = []() -> task<void> {
                         throw std::runtime_error("arm");
                         co_return;
                     };
                     auto good = [](loop& l, bool& other) -> task<void> {
                         co_await l.yield();
                         other = true;
                     };
                     co_await when_all(bad(), good(l, other));
                 }(other_finished)),
                 std::runtime_error);
    EXPECT_TRUE(other_finished);
}

TEST(Task, BlockOnCanBeCalledAgainOnTheSameThread) {
    for (int i = 0; i < 3; ++i) EXPECT_EQ(block_on(forty_two()), 42);
}

}  // namespace
}  // namespace waitless::io
