// Contention: blocking threads share a small thread-safe pool, and many coroutines share a small
// loop pool; every resource is held by one borrower at a time and everything balances at the
// end. Run under TSan too.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "fixture.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/pool/loop_pool.hpp"

// Coroutine lambdas take what they use as parameters, named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::pool::testing {
namespace {

constexpr int threads = 4;
constexpr int cycles = 20000;

TEST(PoolStress, ThreadsShareResourcesExclusively) {
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
    for (auto& w : workers) w.join();

    EXPECT_EQ(overlaps, 0);
    EXPECT_EQ(failures, 0);
    const auto st = p.stats();
    EXPECT_EQ(st.acquired, static_cast<std::uint64_t>(threads * cycles));
    EXPECT_LE(st.size, 3u);
    expect_balanced(p);
    EXPECT_EQ(f.script->creates, f.script->destroys);
}

// Creates that take a loop turn or two, so waiters queue while resources churn.
struct yielding_factory {
    std::shared_ptr<int> creates = std::make_shared<int>(0);
    std::shared_ptr<int> destroys = std::make_shared<int>(0);
    io::task<result<int>> create() {
        auto count = creates;
        co_await io::thread_loop().yield();
        co_return ++*count;
    }
    bool validate(int&) { return true; }
    void destroy(int&) { ++*destroys; }
};

struct shared_counts {
    std::array<int, 4096> in_use{};
    int overlaps = 0;
    int failures = 0;
    int done = 0;
};

io::task<void> borrower(loop_pool<int, yielding_factory>& p, shared_counts& k) {
    for (int i = 0; i < cycles / 10; ++i) {
        auto l = co_await p.acquire();
        if (!l) {
            ++k.failures;
            continue;
        }
        int& flag = k.in_use[static_cast<std::size_t>(**l) % k.in_use.size()];
        if (flag++ != 0) ++k.overlaps;
        if (i % 3 == 0) co_await p.loop().yield();  // hold it across a turn
        --flag;
        if (i % 1000 == 999) l->invalidate();
    }
    ++k.done;
}

TEST(PoolStress, CoroutinesOnOneLoopShareResourcesExclusively) {
    constexpr int borrowers = 20;
    options o;
    o.max = 3;
    o.acquire_timeout = duration::max();
    o.max_uses = 97;  // churn
    yielding_factory f;
    shared_counts k;
    {
        loop_pool<int, yielding_factory> p(io::thread_loop(), f, o);
        io::block_on([](loop_pool<int, yielding_factory>& p, shared_counts& k) -> io::task<void> {
            for (int b = 0; b < borrowers; ++b) io::spawn(borrower(p, k));
            while (k.done < borrowers) co_await p.loop().yield();
        }(p, k));
        EXPECT_EQ(k.overlaps, 0);
        EXPECT_EQ(k.failures, 0);
        const auto st = p.stats();
        EXPECT_EQ(st.acquired, static_cast<std::uint64_t>(borrowers * (cycles / 10)));
        EXPECT_LE(st.size, 3u);
    }
    EXPECT_EQ(*f.creates, *f.destroys);
}

}  // namespace
}  // namespace waitless::pool::testing
