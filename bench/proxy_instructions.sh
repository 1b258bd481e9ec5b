#!/usr/bin/env bash
# Instructions per relayed request of `waitless proxy --workers 1` under callgrind, with the
# floor proxy (bench/floor_proxy.cpp) measured the same way beside it: a count that does not
# drift with the machine's load, unlike the CPU times of bench/proxy_vs_peers.sh. Each proxy
# stands in front of an nginx answering 12 bytes, in a network namespace of its own; wrk -t1
# -cCONNECTIONS warms it for 2 s, callgrind's counts are zeroed, wrk runs SECONDS more, the
# counts are dumped: user-space instructions of every thread over that run / the requests wrk
# completed in it. The kernel's work is not counted (callgrind sees user space only).
#
# Usage: bench/proxy_instructions.sh [path/to/waitless]   (default build/release/bin/waitless;
#        floor_proxy is looked for beside it, or at FLOOR_PROXY). Build with -g to read the
#        profile it keeps (KEEP=DIR keeps callgrind's files there).
# Knobs: SECONDS_RUN (default 10), CONNECTIONS (50), BACKEND_CPU (0, also wrk's), PROXY_CPU (1).
# Needs root (ip netns), valgrind, nginx, wrk, python3.
set -euo pipefail

cd "$(dirname "$0")/.."
bench=proxy_instructions
# shellcheck source=bench/lib.sh
. bench/lib.sh
waitless=${1:-build/release/bin/waitless}
seconds=${SECONDS_RUN:-10}

need valgrind callgrind_control nginx wrk taskset python3 ip
[ -x "$waitless" ] || die "no waitless at $waitless"
proxy_bench_setup "$waitless" "wlpi$$"

# measure NAME COMMAND...: prints NAME_requests and NAME_instructions_per_request; COMMAND is
# the proxy, with PROXY_PORT and BACKEND_PORT already in it.
measure() {
    local name=$1
    shift
    local out="$tmp/$name.callgrind" pid n total
    start_pinned "$proxy_cpu" "$tmp/$name.log" valgrind --tool=callgrind \
        --callgrind-out-file="$out" "$@"
    pid=$started_pid
    wait_for_port "$proxy_port" "$tmp/$name.log"
    run_wrk 2 "$proxy_port" -c"$connections" >/dev/null
    callgrind_control -z "$pid" >/dev/null 2>&1 || die "$name: callgrind_control -z failed"
    n=$(run_wrk "$seconds" "$proxy_port" -c"$connections" | wrk_counts | awk '{print $1}')
    callgrind_control -d "$pid" >/dev/null 2>&1 || die "$name: callgrind_control -d failed"
    # The dump after the zeroing is the run's: "summary:" holds its total instructions.
    total=$(awk '/^summary:/ {print $2}' "$out.1")
    stop_pid "$pid"
    [ "${n:-0}" -gt 0 ] || die "$name: wrk completed no request"
    echo "${name}_requests: $n"
    echo "${name}_instructions_per_request: $((total / n))"
    if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$out.1" "$KEEP/$name.callgrind"; fi
}

measure waitless "$waitless" proxy --listen "127.0.0.1:$proxy_port" \
    --upstream "127.0.0.1:$backend_port" --workers 1 | tee "$tmp/waitless.figures"
measure floor "$floor" "$proxy_port" "$backend_port" | tee "$tmp/floor.figures"
awk '/_instructions_per_request:/ {v[FILENAME] = $2}
     END {printf "instructions_ratio_vs_floor: %.3f\n", v[ARGV[1]] / v[ARGV[2]]}' \
    "$tmp/waitless.figures" "$tmp/floor.figures"
