// Concurrency: blocking threads and a coroutine thread contend for a small pool; every resource
// is held by one borrower at a time and everything balances at the end. Run under TSan too.
#include <gtest/gtest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <thread>
#include <vector>

#include "fixture.hpp"

namespace waitless::pool::testing {
namespace {

constexpr int threads = 4;
constexpr int cycles = 20000;

TEST(PoolStress, ThreadsAndCoroutinesShareResourcesExclusively) {
    options o;
    o.max = 3;
    o.min = 1;
    o.acquire_timeout = duration::max();
    o.maintenance_interval = 1ms;
    o.max_uses = 997;  // churn: resources are destroyed and created while contended
    test_factory f;
    test_pool p(f, o);
    std::array<std::atomic<int>, 4096> in_use{};
    std::atomic<int> overlaps{0};
    std::atomic<int> failures{0};

    auto use = [&](lease<int>& l, int i) {
        auto& flag = in_use[static_cast<std::size_t>(*l) % in_use.size()];
        if (flag.exchange(1) != 0) ++overlaps;
        flag.store(0);
        if (i % 1000 == 999) l.invalidate();
    };

    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < cycles; ++i) {
                acquire_options ao;
                ao.priority = static_cast<priority>(t % 3);
                auto l = p.acquire(ao);
                if (!l) {
                    ++failures;
                    continue;
                }
                use(*l, i);
            }
        });
    }
    asio::io_context ctx;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            for (int i = 0; i < cycles / 4; ++i) {
                auto l = co_await p.co_acquire();
                if (!l) {
                    ++failures;
                    continue;
                }
                use(*l, i);
            }
        },
        asio::detached);
    std::thread loop([&] { ctx.run(); });
    for (auto& w : workers) w.join();
    loop.join();

    EXPECT_EQ(overlaps, 0);
    EXPECT_EQ(failures, 0);
    const auto st = p.stats();
    EXPECT_EQ(st.acquired, static_cast<std::uint64_t>(threads * cycles + cycles / 4));
    EXPECT_LE(st.size, 3u);
    expect_balanced(p);
    EXPECT_EQ(f.script->creates, f.script->destroys);
}

}  // namespace
}  // namespace waitless::pool::testing
