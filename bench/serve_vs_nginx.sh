#!/usr/bin/env bash
# waitless serve --workers 1 against nginx (one worker process) answering the same 12-byte body
# with keep-alive, side by side in one run: each server pinned to one core, wrk pinned to another.
# Figure of merit: server CPU time (utime + stime from /proc/PID/stat) per request wrk counted.
# A third server, bench/floor_server.cpp (no parser, fixed answer), is measured the same way:
# floor_cpu_ratio is the best any server could reach here, since the kernel's share is equal.
# Then one more wrk run per server counts its epoll_wait calls per request (perf stat on the
# syscall tracepoints, or strace -c where perf cannot; epoll_counter says which). That run is
# apart from the timed ones so the counting costs them nothing.
#
# Usage: bench/serve_vs_nginx.sh [path/to/waitless]   (default build/release/bin/waitless;
#        floor_server is looked for beside it)
# Knobs: DURATION (s, default 5), CONNECTIONS (50), ROUNDS (3), SERVER_CPU (0), CLIENT_CPU (1),
#        EPOLL_COUNTER (perf or strace; default perf if it works here).
set -euo pipefail

cd "$(dirname "$0")/.."
bench=serve_vs_nginx
# shellcheck source=bench/lib.sh
. bench/lib.sh
waitless=${1:-build/release/bin/waitless}
floor=$(dirname "$waitless")/floor_server
duration=${DURATION:-5}
connections=${CONNECTIONS:-50}
rounds=${ROUNDS:-3}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}

need nginx wrk taskset python3 awk
[ -x "$waitless" ] || die "no waitless binary at $waitless"
[ -x "$floor" ] || die "no floor_server beside it at $floor"
if [ -n "${EPOLL_COUNTER:-}" ]; then epoll_counter=$EPOLL_COUNTER; else choose_epoll_counter; fi
bench_init

# One measured run after a 1 s warm-up: prints "requests user_ticks system_ticks errors".
measure() {
    local port=$1 user0 sys0 user1 sys1 requests errors
    run_wrk 1 "$port" -c"$connections" >/dev/null
    read -r user0 sys0 < <(cpu_ticks "$server_pid")
    run_wrk "$duration" "$port" -c"$connections" >"$tmp/wrk.out"
    read -r user1 sys1 < <(cpu_ticks "$server_pid")
    read -r requests errors < <(wrk_counts <"$tmp/wrk.out")
    echo "$requests $((user1 - user0)) $((sys1 - sys0)) $errors"
}

servers=(waitless nginx floor)
declare -A total_requests total_ticks total_user total_errors
for name in "${servers[@]}"; do
    total_requests[$name]=0 total_ticks[$name]=0 total_user[$name]=0 total_errors[$name]=0
done
for round in $(seq "$rounds"); do
    for name in "${servers[@]}"; do
        port=$(free_port)
        "start_$name" "$port"
        wait_for_port "$port"
        read -r requests user system errors < <(measure "$port")
        ticks=$((user + system))
        stop_server
        echo "round${round}_${name}_requests: $requests"
        echo "round${round}_${name}_cpu_s: $(ticks_to_s "$ticks")"
        echo "round${round}_${name}_errors: $errors"
        total_requests[$name]=$((total_requests[$name] + requests))
        total_ticks[$name]=$((total_ticks[$name] + ticks))
        total_user[$name]=$((total_user[$name] + user))
        total_errors[$name]=$((total_errors[$name] + errors))
    done
done

for name in "${servers[@]}"; do
    echo "${name}_requests: ${total_requests[$name]}"
    echo "${name}_requests_per_s: $((total_requests[$name] / (rounds * duration)))"
    echo "${name}_cpu_s: $(ticks_to_s "${total_ticks[$name]}")"
    echo "${name}_cpu_us_per_request: $(ticks_per_request_us "${total_ticks[$name]}" \
        "${total_requests[$name]}")"
    echo "${name}_user_us_per_request: $(ticks_per_request_us "${total_user[$name]}" \
        "${total_requests[$name]}")"
    echo "${name}_errors: ${total_errors[$name]}"
done

echo "epoll_counter: $epoll_counter"
for name in "${servers[@]}"; do
    port=$(free_port)
    "start_$name" "$port"
    wait_for_port "$port"
    run_wrk 1 "$port" -c"$connections" >/dev/null
    count_epoll_waits "$duration" "$port" -c"$connections" >"$tmp/wrk.out"
    stop_server
    read -r requests _ < <(wrk_counts <"$tmp/wrk.out")
    echo "${name}_epoll_wait_per_request: $(awk -v c="$(cat "$tmp/epoll_calls")" -v r="$requests" \
        'BEGIN {printf "%.3f", r ? c / r : 0}')"
done

# Per-request CPU of server $1 over that of server $2.
ratio() {
    awk -v at="${total_ticks[$1]}" -v ar="${total_requests[$1]}" \
        -v bt="${total_ticks[$2]}" -v br="${total_requests[$2]}" \
        'BEGIN {printf "%.3f\n", (at / ar) / (bt / br)}'
}
echo "floor_cpu_ratio: $(ratio floor nginx)"
echo "serve_cpu_ratio: $(ratio waitless nginx)"
