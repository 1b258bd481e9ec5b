// The awaitable face: co_acquire / async_acquire on an io_context, timeouts, cancellation.
#include <gtest/gtest.h>

#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <thread>

#include "fixture.hpp"

namespace waitless::pool::testing {
namespace {

using asio::awaitable;
using asio::use_awaitable;

options async_options(std::size_t max = 1) {
    options o;
    o.max = max;
    o.maintenance_interval = 10ms;
    return o;
}

// Runs one coroutine to completion on a fresh io_context; rethrows what it throws.
template <class Coroutine>
void run(Coroutine c) {
    asio::io_context ctx;
    std::exception_ptr failure;
    asio::co_spawn(ctx, c(), [&](std::exception_ptr e) { failure = e; });
    ctx.run();
    if (failure) std::rethrow_exception(failure);
}

TEST(PoolAsync, CoAcquireReturnsALease) {
    test_pool p(test_factory{}, async_options());
    run([&]() -> awaitable<void> {
        auto l = co_await p.co_acquire();
        EXPECT_TRUE(l);
        EXPECT_EQ(**l, 1);
        l->release();
        auto again = co_await p.co_acquire();  // idle now: taken without waiting
        EXPECT_EQ(**again, 1);
    });
    EXPECT_EQ(p.stats().created, 1u);
    expect_balanced(p);
}

TEST(PoolAsync, AWaitingCoroutineGetsTheResourceAnotherOneReturns) {
    test_pool p(test_factory{}, async_options());
    asio::io_context ctx;
    int order = 0, first = 0, second = 0;
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
            auto l = co_await p.co_acquire();
            first = ++order;
            asio::steady_timer t(ctx, 20ms);
            co_await t.async_wait(use_awaitable);
        },
        asio::detached);
    asio::co_spawn(
        ctx,
        [&]() -> awaitable<void> {
            auto l = co_await p.co_acquire();
            EXPECT_TRUE(l);
            second = ++order;
        },
        asio::detached);
    ctx.run();
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 2);
    EXPECT_EQ(p.stats().created, 1u);
    expect_balanced(p);
}

TEST(PoolAsync, TimesOutAsAValue) {
    test_pool p(test_factory{}, async_options());
    auto held = p.acquire();
    run([&]() -> awaitable<void> {
        acquire_options ao;
        ao.timeout = 30ms;
        auto l = co_await p.co_acquire(ao);
        EXPECT_EQ(l ? std::error_code() : l.error(), errc::timeout);
    });
    EXPECT_EQ(p.stats().timeouts, 1u);
    EXPECT_EQ(p.stats().pending, 0u);
    held->release();
    expect_balanced(p);
}

TEST(PoolAsync, TimesOutOnAManualClockThroughMaintenance) {
    manual_clock clk;
    auto o = manual_options(clk, 1);
    o.acquire_timeout = 5s;
    test_pool p(test_factory{}, o);
    auto held = p.acquire();
    asio::io_context ctx;
    std::error_code got;
    p.async_acquire(asio::bind_executor(ctx, [&](std::error_code ec, lease<int>) { got = ec; }));
    ctx.poll();
    ASSERT_EQ(p.stats().pending, 1u);
    clk.advance(6s);
    p.maintain();
    ctx.restart();  // poll() ran out of work, which stops an io_context
    ctx.run();
    EXPECT_EQ(got, errc::timeout);
    held->release();
    expect_balanced(p);
}

TEST(PoolAsync, LosingARaceWithATimerCancelsTheWaiter) {
    using namespace asio::experimental::awaitable_operators;
    test_pool p(test_factory{}, async_options());
    auto held = p.acquire();
    run([&]() -> awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
        auto winner = co_await (p.async_acquire(asio::experimental::as_tuple(use_awaitable)) ||
                                t.async_wait(asio::experimental::as_tuple(use_awaitable)));
        EXPECT_EQ(winner.index(), 1u);
    });
    const auto st = p.stats();
    EXPECT_EQ(st.cancelled, 1u);
    EXPECT_EQ(st.pending, 0u);
    EXPECT_EQ(st.timeouts, 0u);
    held->release();
    expect_balanced(p);
}

TEST(PoolAsync, DrainFailsAsyncWaiters) {
    test_pool p(test_factory{}, async_options());
    auto held = p.acquire();
    asio::io_context ctx;
    std::error_code got;
    bool called = false;
    p.async_acquire(asio::bind_executor(ctx, [&](std::error_code ec, lease<int> l) {
        called = true;
        got = ec;
        EXPECT_FALSE(l);
    }));
    ctx.poll();
    ASSERT_EQ(p.stats().pending, 1u);
    std::thread drainer([&] { p.drain(); });
    ASSERT_TRUE(eventually([&] { return p.stats().pending == 0; }));
    ctx.restart();
    ctx.run();
    EXPECT_TRUE(called);
    EXPECT_EQ(got, errc::draining);
    held->release();
    drainer.join();
    const auto st = p.stats();
    EXPECT_EQ(st.created, st.destroyed);
}

TEST(PoolAsync, AReleaseOnAnotherThreadCompletesOnTheWaitersExecutor) {
    test_pool p(test_factory{}, async_options());
    auto held = p.acquire();
    asio::io_context ctx;
    auto guard = asio::make_work_guard(ctx);
    std::thread::id completed_on;
    p.async_acquire(asio::bind_executor(ctx, [&](std::error_code ec, lease<int> l) {
        EXPECT_FALSE(ec);
        EXPECT_TRUE(l);
        completed_on = std::this_thread::get_id();
        guard.reset();
    }));
    std::thread releaser([&] {
        EXPECT_TRUE(eventually([&] { return p.stats().pending == 1; }));
        held->release();
    });
    ctx.run();
    releaser.join();
    EXPECT_EQ(completed_on, std::this_thread::get_id());
    expect_balanced(p);
}

TEST(PoolAsync, AnAbandonedCompletionReturnsItsResource) {
    test_pool p(test_factory{}, async_options());
    {
        asio::io_context ctx;
        p.async_acquire(asio::bind_executor(
            ctx, [](std::error_code, lease<int>) { ADD_FAILURE() << "never run"; }));
        ASSERT_TRUE(eventually([&] { return p.stats().borrowed == 1; }));
        // ctx is destroyed without running: the queued completion must give the lease back.
    }
    EXPECT_EQ(p.stats().borrowed, 0u);
    EXPECT_EQ(p.stats().idle, 1u);
    expect_balanced(p);
}

}  // namespace
}  // namespace waitless::pool::testing
