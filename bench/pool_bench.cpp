// waitless::pool acquire+release cycle: uncontended blocking, two contending threads, and the
// loop face (loop_pool) from a coroutine on an io::loop.
// Heap allocations are counted (global operator new) and reported per cycle: the hot path must
// show zero. bench/pool.sh runs this pinned, next to generic-pool (node).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>

#include "support/allocation_counter.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/pool/loop_pool.hpp"
#include "waitless/pool/pool.hpp"

using waitless::test::allocations;

namespace {

using namespace waitless;

// The cheapest resource: the benchmark measures the pool, not the factory.
struct int_factory {
    int next = 0;
    result<int> create() { return ++next; }
    bool validate(int&) { return true; }
    void destroy(int&) {}
};

using bench_pool = pool::pool<int, int_factory>;

pool::options bench_options() {
    pool::options o;
    o.max = 10;  // as in the generic-pool run
    return o;
}

void report_allocations(benchmark::State& state, std::uint64_t before) {
    state.counters["allocs_per_cycle"] = benchmark::Counter(
        static_cast<double>(allocations.load() - before), benchmark::Counter::kAvgIterations);
}

void BM_pool_cycle_blocking(benchmark::State& state) {
    bench_pool p(int_factory{}, bench_options());
    p.acquire()->release();  // one warm resource
    const auto before = allocations.load();
    for (auto _ : state) {
        auto l = p.acquire();
        benchmark::DoNotOptimize(**l);
    }
    report_allocations(state, before);
}
BENCHMARK(BM_pool_cycle_blocking);

void BM_pool_cycle_try_acquire(benchmark::State& state) {
    bench_pool p(int_factory{}, bench_options());
    p.acquire()->release();
    for (auto _ : state) {
        auto l = p.try_acquire();
        benchmark::DoNotOptimize(**l);
    }
}
BENCHMARK(BM_pool_cycle_try_acquire);

bench_pool* shared_pool = nullptr;

void BM_pool_cycle_contended(benchmark::State& state) {
    if (state.thread_index() == 0) {
        shared_pool = new bench_pool(int_factory{}, bench_options());
        auto a = shared_pool->acquire();
        auto b = shared_pool->acquire();
    }
    for (auto _ : state) {
        auto l = shared_pool->acquire();
        benchmark::DoNotOptimize(**l);
    }
    if (state.thread_index() == 0) {
        delete shared_pool;
        shared_pool = nullptr;
    }
}
BENCHMARK(BM_pool_cycle_contended)->Threads(2)->UseRealTime();

struct int_loop_factory {
    int next = 0;
    io::task<result<int>> create() { co_return ++next; }
    bool validate(int&) { return true; }
    void destroy(int&) {}
};

using bench_loop_pool = pool::loop_pool<int, int_loop_factory>;

io::task<void> awaitable_cycles(bench_loop_pool& p, benchmark::State& state,
                                std::uint64_t& before) {
    { auto warm = co_await p.acquire(); }  // one warm resource
    before = allocations.load();
    for (auto _ : state) {
        auto l = co_await p.acquire();
        benchmark::DoNotOptimize(**l);
    }
}

void BM_pool_cycle_awaitable(benchmark::State& state) {
    bench_loop_pool p(io::thread_loop(), int_loop_factory{}, bench_options());
    std::uint64_t before = 0;
    io::block_on(awaitable_cycles(p, state, before));
    report_allocations(state, before);
}
BENCHMARK(BM_pool_cycle_awaitable);

}  // namespace

BENCHMARK_MAIN();
