// The loop face: creates as coroutines on an io::loop, timeouts and evictions by loop timers,
// FIFO waiters, cancellation. A fake asynchronous factory stands in for a connector.
#include "waitless/pool/loop_pool.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stop_token>
#include <system_error>
#include <vector>

#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

// Coroutines take what they use as parameters (a lambda's captures would dangle).
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::pool::testing {
namespace {

using namespace std::chrono_literals;

struct async_script {
    int next_id = 0;
    int creates = 0;
    int destroys = 0;
    int validations = 0;
    bool fail = false;
    bool validate_ok = true;
    std::chrono::milliseconds delay{0};  // how long a create takes on the loop
};

// Resources are ints numbered from 1 in creation order.
struct async_factory {
    io::loop* loop = nullptr;
    std::shared_ptr<async_script> script = std::make_shared<async_script>();

    io::task<result<int>> create() {
        auto sc = script;  // the factory may be gone when a slow create ends
        if (sc->delay > 0ms) co_await loop->sleep_for(sc->delay);
        if (sc->fail)
            co_return std::unexpected(std::make_error_code(std::errc::connection_refused));
        ++sc->creates;
        co_return ++sc->next_id;
    }
    bool validate(int&) {
        ++script->validations;
        return script->validate_ok;
    }
    void destroy(int&) { ++script->destroys; }
};

using test_loop_pool = loop_pool<int, async_factory>;

options small(std::size_t max = 1) {
    options o;
    o.max = max;
    o.lifetime_jitter = 0;
    return o;
}

struct fixture {
    io::loop& l = io::thread_loop();
    async_factory factory{&l};
    std::shared_ptr<async_script> script = factory.script;
};

io::task<void> sleep(io::loop& l, std::chrono::milliseconds d) { co_await l.sleep_for(d); }

TEST(PoolLoop, CreatesOnTheLoopAndReusesAnIdleResource) {
    fixture f;
    test_loop_pool p(f.l, f.factory, small());
    io::block_on([](test_loop_pool& p) -> io::task<void> {
        {
            auto l = co_await p.acquire();
            EXPECT_TRUE(l);
            EXPECT_EQ(**l, 1);
        }
        auto again = co_await p.acquire();  // idle now: taken without suspending
        EXPECT_TRUE(again);
        if (!again) co_return;
        EXPECT_EQ(**again, 1);
        EXPECT_EQ(again->uses(), 1u);
    }(p));
    EXPECT_EQ(p.stats().created, 1u);
    EXPECT_EQ(p.stats().idle, 1u);
}

TEST(PoolLoop, AFailedCreateIsTheWaitersError) {
    fixture f;
    f.script->fail = true;
    test_loop_pool p(f.l, f.factory, small());
    auto r = io::block_on([](test_loop_pool& p) -> io::task<result<lease<int>>> {
        co_return co_await p.acquire();
    }(p));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::connection_refused);
    EXPECT_EQ(p.stats().create_failures, 1u);
    EXPECT_EQ(p.stats().size, 0u);
}

TEST(PoolLoop, ASlowCreatePastItsTimeoutFailsTheWaiterAndIsDestroyedLate) {
    fixture f;
    f.script->delay = 150ms;
    auto o = small();
    o.create_timeout = 30ms;
    std::vector<close_reason> destroyed;
    o.on_event = [&](const event& e) {
        if (e.kind == event_kind::destroyed) destroyed.push_back(e.reason);
    };
    test_loop_pool p(f.l, f.factory, o);
    const auto start = std::chrono::steady_clock::now();
    auto r = io::block_on([](test_loop_pool& p) -> io::task<result<lease<int>>> {
        co_return co_await p.acquire();
    }(p));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::create_timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 140ms);
    EXPECT_EQ(p.stats().create_timeouts, 1u);
    io::block_on(sleep(f.l, 200ms));  // the create ends; its resource is not kept
    EXPECT_EQ(f.script->creates, 1);
    EXPECT_EQ(f.script->destroys, 1);
    ASSERT_EQ(destroyed.size(), 1u);
    EXPECT_EQ(destroyed[0], close_reason::late);
    EXPECT_EQ(p.stats().idle, 0u);
}

TEST(PoolLoop, AnIdleResourceIsEvictedByTheLoopsTimer) {
    fixture f;
    auto o = small();
    o.idle_timeout = 40ms;
    test_loop_pool p(f.l, f.factory, o);
    io::block_on([](test_loop_pool& p) -> io::task<void> {
        auto l = co_await p.acquire();
        EXPECT_TRUE(l);
    }(p));
    EXPECT_EQ(p.stats().idle, 1u);
    io::block_on(sleep(f.l, 120ms));
    EXPECT_EQ(p.stats().idle, 0u);
    EXPECT_EQ(f.script->destroys, 1);
    EXPECT_EQ(p.stats().retired, 1u);
}

TEST(PoolLoop, AResourceIsRetiredAtItsLifetime) {
    fixture f;
    auto o = small();
    o.max_lifetime = 40ms;
    o.idle_timeout = 0s;
    close_reason why = close_reason::none;
    o.on_event = [&](const event& e) {
        if (e.kind == event_kind::destroyed) why = e.reason;
    };
    test_loop_pool p(f.l, f.factory, o);
    io::block_on([](test_loop_pool& p) -> io::task<void> {
        auto l = co_await p.acquire();
        EXPECT_TRUE(l);
    }(p));
    io::block_on(sleep(f.l, 120ms));
    EXPECT_EQ(why, close_reason::max_lifetime);
    EXPECT_EQ(p.stats().size, 0u);
}

TEST(PoolLoop, AWaiterTimesOutAsAValue) {
    fixture f;
    test_loop_pool p(f.l, f.factory, small());
    io::block_on([](test_loop_pool& p) -> io::task<void> {
        auto held = co_await p.acquire();
        EXPECT_TRUE(held);
        acquire_options ao;
        ao.timeout = 30ms;
        const auto start = std::chrono::steady_clock::now();
        auto l = co_await p.acquire(ao);
        EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
        EXPECT_FALSE(l);
        if (!l) {
            EXPECT_EQ(l.error(), errc::timeout);
        }
    }(p));
    EXPECT_EQ(p.stats().timeouts, 1u);
    EXPECT_EQ(p.stats().pending, 0u);
}

io::task<void> wait_for_one(test_loop_pool& p, std::vector<int>& order, int id) {
    auto l = co_await p.acquire();
    EXPECT_TRUE(l);
    order.push_back(id);
    co_await p.loop().yield();  // hold it for a turn
}

TEST(PoolLoop, WaitersAreServedFirstComeFirstServed) {
    fixture f;
    test_loop_pool p(f.l, f.factory, small());
    std::vector<int> order;
    io::block_on([](test_loop_pool& p, std::vector<int>& order) -> io::task<void> {
        auto held = co_await p.acquire();
        for (int id = 1; id <= 3; ++id) io::spawn(wait_for_one(p, order, id));
        EXPECT_EQ(p.stats().pending, 3u);
        held->release();
        while (order.size() < 3 || p.stats().borrowed > 0) co_await p.loop().yield();
    }(p, order));
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(p.stats().created, 1u);
}

TEST(PoolLoop, AWaiterCanBeCancelled) {
    fixture f;
    test_loop_pool p(f.l, f.factory, small());
    io::block_on([](test_loop_pool& p) -> io::task<void> {
        auto held = co_await p.acquire();
        std::stop_source stop;
        std::optional<result<lease<int>>> got;
        io::spawn([](test_loop_pool& p, std::stop_token token,
                     std::optional<result<lease<int>>>& got) -> io::task<void> {
            acquire_options ao;
            ao.stop = token;
            got.emplace(co_await p.acquire(ao));
        }(p, stop.get_token(), got));
        EXPECT_EQ(p.stats().pending, 1u);
        stop.request_stop();
        while (!got) co_await p.loop().yield();
        EXPECT_FALSE(*got);
        if (!*got) {
            EXPECT_EQ(got->error(), errc::cancelled);
        }
    }(p));
    EXPECT_EQ(p.stats().cancelled, 1u);
    EXPECT_EQ(p.stats().pending, 0u);
}

TEST(PoolLoop, DestroyingAWaitingCoroutineLeavesTheQueue) {
    fixture f;
    test_loop_pool p(f.l, f.factory, small());
    io::block_on([](test_loop_pool& p) -> io::task<void> {
        auto held = co_await p.acquire();
        auto waiting = [](test_loop_pool& p) -> io::task<void> {
            auto l = co_await p.acquire();
            ADD_FAILURE() << "never resumed";
        }(p);
        auto h = waiting.release();
        h.resume();  // runs up to the queue
        EXPECT_EQ(p.stats().pending, 1u);
        h.destroy();
        EXPECT_EQ(p.stats().pending, 0u);
        held->release();
        EXPECT_EQ(p.stats().idle, 1u);
    }(p));
}

TEST(PoolLoop, DestroyingThePoolFailsItsWaitersAndEndsLeasesLater) {
    fixture f;
    auto p = std::make_unique<test_loop_pool>(f.l, f.factory, small());
    std::optional<result<lease<int>>> got;
    auto held = io::block_on([](test_loop_pool& p) -> io::task<result<lease<int>>> {
        co_return co_await p.acquire();
    }(*p));
    ASSERT_TRUE(held);
    io::block_on([](std::unique_ptr<test_loop_pool>& p,
                    std::optional<result<lease<int>>>& got) -> io::task<void> {
        io::spawn([](test_loop_pool& p, std::optional<result<lease<int>>>& got) -> io::task<void> {
            got.emplace(co_await p.acquire());
        }(*p, got));
        p.reset();
        while (!got) co_await io::thread_loop().yield();
    }(p, got));
    ASSERT_FALSE(*got);
    EXPECT_EQ(got->error(), errc::draining);
    EXPECT_EQ(f.script->destroys, 0);
    held->release();  // the last lease ends the pool's state
    EXPECT_EQ(f.script->destroys, 1);
}

TEST(PoolLoop, ValidationOnBorrowRunsInline) {
    fixture f;
    auto o = small();
    o.validate_on_borrow = true;
    o.validate_bypass = 0s;
    test_loop_pool p(f.l, f.factory, o);
    io::block_on([](test_loop_pool& p, async_script& script) -> io::task<void> {
        { auto l = co_await p.acquire(); }
        script.validate_ok = false;
        auto l = co_await p.acquire();  // the idle one fails validation: a new one is made
        EXPECT_TRUE(l);
        if (l) {
            EXPECT_EQ(**l, 2);
        }
    }(p, *f.script));
    EXPECT_EQ(p.stats().validation_failures, 1u);
}

TEST(PoolLoop, AHandDrivenClockMovesOnlyThroughMaintain) {
    fixture f;
    manual_clock clk;
    auto o = small();
    o.clock = &clk;
    o.idle_timeout = 5s;
    test_loop_pool p(f.l, f.factory, o);
    io::block_on([](test_loop_pool& p) -> io::task<void> { auto l = co_await p.acquire(); }(p));
    clk.advance(6s);
    EXPECT_EQ(p.stats().idle, 1u);
    p.maintain();
    EXPECT_EQ(p.stats().idle, 0u);
}

}  // namespace
}  // namespace waitless::pool::testing
