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
    auto s = block_on(nested(10000));
    EXPECT_EQ(s.size(), std::string("bottom").size() + 10000);
}

TEST(Task, AnExceptionReachesTheAwaiter) { EXPECT_THROW(block_on(throws()), std::runtime_error); }

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
