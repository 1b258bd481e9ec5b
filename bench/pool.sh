#!/usr/bin/env bash
# The pool's acquire+release cycle next to generic-pool 3.9 (node), both pinned to CPU 0.
# Prints `name: value` lines; pool_cycle_ns is the uncontended blocking cycle.
# WAITLESS_BUILD: build directory to use (default build/release, made with --preset release).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${WAITLESS_BUILD:-$root/build/release}
cycles=1000000

if [[ ! -f $build/CMakeCache.txt ]]; then
    (cd "$root" && cmake --preset release -B "$build" >/dev/null)
fi
cmake --build "$build" --target pool_bench -j2 >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Ours: single-threaded cases pinned to CPU 0; the contended case needs two CPUs to contend.
taskset -c 0 "$build/bin/pool_bench" --benchmark_filter='blocking|try_acquire|awaitable' \
    --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_format=json >"$work/ours.json"
taskset -c 0,1 "$build/bin/pool_bench" --benchmark_filter='contended' \
    --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
    --benchmark_format=json >"$work/contended.json"

# Theirs: generic-pool with a pool of 10, sequential acquire/release, 10^6 cycles per run.
(cd "$work" && npm install --silent --no-audit --no-fund generic-pool@3.9 >/dev/null)
cat >"$work/cycle.js" <<'JS'
const genericPool = require('generic-pool');
const pool = genericPool.createPool(
    { create: async () => ({}), destroy: async () => {} }, { max: 10, min: 0 });
async function cycle(n) {
    for (let i = 0; i < n; i++) {
        const r = await pool.acquire();
        await pool.release(r);
    }
}
(async () => {
    const n = Number(process.argv[2]);
    await cycle(n / 10);  // warm up the JIT
    const runs = [];
    for (let run = 0; run < 5; run++) {  // median of 5, as for ours
        const t0 = process.hrtime.bigint();
        await cycle(n);
        runs.push(Number(process.hrtime.bigint() - t0) / n);
    }
    runs.sort((a, b) => a - b);
    console.log(runs[2].toFixed(1));
    await pool.drain();
    await pool.clear();
})();
JS
theirs=$(cd "$work" && taskset -c 0 node cycle.js "$cycles")

python3 - "$work/ours.json" "$work/contended.json" "$theirs" <<'PY'
import json, sys
rows = {}
for path in sys.argv[1:3]:
    for b in json.load(open(path))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            rows[b["run_name"].split("/")[0]] = b
def ns(name, key="cpu_time"):
    return rows[name][key]
ours = ns("BM_pool_cycle_blocking")
theirs = float(sys.argv[3])
print(f"pool_cycle_ns: {ours:.1f}")
print(f"vs_generic_pool: {theirs / ours:.0f}x")
print(f"pool_cycle_try_acquire_ns: {ns('BM_pool_cycle_try_acquire'):.1f}")
print(f"pool_cycle_awaitable_ns: {ns('BM_pool_cycle_awaitable'):.1f}")
print(f"pool_cycle_contended_2_threads_ns: {ns('BM_pool_cycle_contended', 'real_time'):.1f}")
print(f"pool_allocs_per_cycle: {rows['BM_pool_cycle_blocking'].get('allocs_per_cycle', 0):g}")
print(f"pool_awaitable_allocs_per_cycle: {rows['BM_pool_cycle_awaitable'].get('allocs_per_cycle', 0):g}")
print(f"generic_pool_cycle_ns: {theirs:.1f}")
PY
