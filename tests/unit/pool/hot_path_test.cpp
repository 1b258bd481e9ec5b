// The acquire+release of an idle resource allocates nothing: counted through operator new,
// which this file replaces for the whole pool_test binary (counting only, same behaviour).
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <cstdlib>

#include "fixture.hpp"
#include "support/allocation_counter.hpp"

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

TEST(PoolHotPath, AwaitableCycleOfAnIdleResourceDoesNotAllocateOnceWarm) {
    options o;
    o.maintenance_interval = 0s;
    test_pool p(test_factory{}, o);
    p.acquire()->release();
    asio::io_context ctx;
    std::uint64_t used = 1;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            { auto warm = co_await p.co_acquire(); }  // Asio caches coroutine frames per thread
            const auto before = allocations.load();
            for (int i = 0; i < 1000; ++i) {
                auto l = co_await p.co_acquire();
                EXPECT_TRUE(l);
            }
            used = allocations.load() - before;
        },
        asio::detached);
    ctx.run();
    EXPECT_EQ(used, 0u);
    expect_balanced(p);
}

}  // namespace
}  // namespace waitless::pool::testing
