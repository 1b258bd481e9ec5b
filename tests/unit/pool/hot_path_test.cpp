// The acquire+release of an idle resource allocates nothing: counted through operator new,
// which this file replaces for the whole pool_test binary (counting only, same behaviour).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>

#include "fixture.hpp"
#include "support/allocation_counter.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/pool/loop_pool.hpp"

using waitless::test::allocations;

namespace waitless::pool::testing {
namespace {

TEST(PoolHotPath, BlockingCycleOfAnIdleResourceDoesNotAllocate) {
    options o;
    o.maintenance_interval = 0s;
    o.leak_threshold = 1h;  // timestamps taken, still no allocation
    test_pool p(test_factory{}, o);
    p.acquire()->release();
    const auto before = allocations.load();
    for (int i = 0; i < 1000; ++i) {
        auto l = p.acquire();
        ASSERT_TRUE(l);
    }
    EXPECT_EQ(allocations.load() - before, 0u);
    expect_balanced(p);
}

// The loop face: co_await acquire() of an idle resource is an awaiter in the caller's frame.
struct instant_factory {
    int next = 0;
    io::task<result<int>> create() { co_return ++next; }
    bool validate(int&) { return true; }
    void destroy(int&) {}
};

io::task<void> cycle(loop_pool<int, instant_factory>& p, std::uint64_t& used) {
    { auto warm = co_await p.acquire(); }
    const auto before = allocations.load();
    for (int i = 0; i < 1000; ++i) {
        auto l = co_await p.acquire();
        EXPECT_TRUE(l);
    }
    used = allocations.load() - before;
}

TEST(PoolHotPath, LoopCycleOfAnIdleResourceDoesNotAllocate) {
    options o;
    o.leak_threshold = 1h;  // timestamps and the timer taken, still no allocation
    loop_pool<int, instant_factory> p(io::thread_loop(), instant_factory{}, o);
    std::uint64_t used = 1;
    io::block_on(cycle(p, used));
    EXPECT_EQ(used, 0u);
    EXPECT_EQ(p.stats().created, 1u);
}

}  // namespace
}  // namespace waitless::pool::testing
