#!/usr/bin/env bash
# Two or more builds of `waitless proxy --workers 1` side by side, with the floor proxy
# (bench/floor_proxy.cpp) beside them: the way to tell whether a change to the request path
# made it cheaper, on a machine whose speed drifts by the minute. All stand in turn in front of
# one nginx answering 12 bytes, in a network namespace of the script's own; each round runs
# every build, in the opposite order of the round before, and then the floor, so drift hits all
# of them alike. Per run: requests/s of
# wrk -t1 -cCONNECTIONS after a 1 s warm-up, and the proxy's user and system CPU per request
# (utime and stime from /proc/PID/stat over the run / requests). At the end, each build's
# totals over all rounds: user_us, sys_us and cpu_us per request, and its CPU against the
# floor's and against the first build's.
#
# Usage: bench/proxy_builds.sh WAITLESS [WAITLESS...]   (floor_proxy is looked for beside the
#        first, or at FLOOR_PROXY). A build of an older commit:
#          git worktree add /tmp/old REV && cmake -S /tmp/old -B /tmp/old/b -G Ninja \
#            -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/old/b --target waitless
# Knobs: SECONDS_RUN (4), ROUNDS (3), CONNECTIONS (50), BACKEND_CPU (0, also wrk's), PROXY_CPU (1).
# Needs root (ip netns), nginx, wrk, python3.
set -euo pipefail

cd "$(dirname "$0")/.."
bench=proxy_builds
# shellcheck source=bench/lib.sh
. bench/lib.sh
[ $# -ge 1 ] || die "usage: bench/proxy_builds.sh WAITLESS [WAITLESS...]"
builds=("$@")
seconds=${SECONDS_RUN:-4}
rounds=${ROUNDS:-3}

need nginx wrk taskset python3 ip
for b in "${builds[@]}"; do [ -x "$b" ] || die "no waitless at $b"; done
proxy_bench_setup "$1" "wlpb$$"

declare -A user sys requests
# run NAME COMMAND...: one timed run of that proxy; adds to its totals, prints the run's figures.
run() {
    local name=$1
    shift
    start_pinned "$proxy_cpu" "$tmp/$name.log" "$@"
    local pid=$started_pid before after n
    wait_for_port "$proxy_port" "$tmp/$name.log"
    run_wrk 1 "$proxy_port" -c"$connections" >/dev/null
    read -r -a before < <(cpu_ticks "$pid")
    n=$(run_wrk "$seconds" "$proxy_port" -c"$connections" | wrk_counts | awk '{print $1}')
    read -r -a after < <(cpu_ticks "$pid")
    stop_pid "$pid"
    [ "${n:-0}" -gt 0 ] || die "$name: wrk completed no request"
    local u=$((after[0] - before[0])) s=$((after[1] - before[1]))
    user[$name]=$((${user[$name]:-0} + u))
    sys[$name]=$((${sys[$name]:-0} + s))
    requests[$name]=$((${requests[$name]:-0} + n))
    echo "round${round}_${name}_requests_per_s: $((n / seconds))"
    echo "round${round}_${name}_user_us_per_request: $(ticks_per_request_us "$u" "$n")"
    echo "round${round}_${name}_sys_us_per_request: $(ticks_per_request_us "$s" "$n")"
}

names=()
for i in "${!builds[@]}"; do names+=("build$((i + 1))"); done
for i in "${!builds[@]}"; do echo "build$((i + 1)): ${builds[$i]}"; done
order=("${!builds[@]}")
for round in $(seq "$rounds"); do
    for i in "${order[@]}"; do
        run "${names[$i]}" "${builds[$i]}" proxy --listen "127.0.0.1:$proxy_port" \
            --upstream "127.0.0.1:$backend_port" --workers 1
    done
    run floor "$floor" "$proxy_port" "$backend_port"
    # The next round runs the builds in the opposite order: a machine that slows or speeds up
    # over a round favours none of them.
    mapfile -t order < <(printf '%s\n' "${order[@]}" | tac)
done

cpu_of() { ticks_per_request_us $((user[$1] + sys[$1])) "${requests[$1]}"; }
for name in "${names[@]}" floor; do
    echo "${name}_user_us_per_request: $(ticks_per_request_us "${user[$name]}" "${requests[$name]}")"
    echo "${name}_sys_us_per_request: $(ticks_per_request_us "${sys[$name]}" "${requests[$name]}")"
    echo "${name}_cpu_us_per_request: $(cpu_of "$name")"
done
for name in "${names[@]}"; do
    awk -v n="$name" -v c="$(cpu_of "$name")" -v f="$(cpu_of floor)" -v b="$(cpu_of build1)" \
        'BEGIN {printf "%s_cpu_ratio_vs_floor: %.3f\n%s_cpu_ratio_vs_build1: %.3f\n", n, c / f, n, c / b}'
done
