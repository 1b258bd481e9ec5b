#!/usr/bin/env bash
# waitless bench against wrk in keep-alive mode, side by side in one run: the same server
# (waitless serve --workers 1, pinned to SERVER_CPU), the same connections and duration, each
# load generator on one thread pinned to CLIENT_CPU, all inside a fresh network namespace so
# other traffic on the host neither slows the run nor fills the census.
# Figure of merit: the load generator's CPU time (user + system, from getrusage of the child)
# per request it completed. bench_cpu_ratio_vs_wrk below 1 means waitless bench spends less
# than wrk per request. waitless bench's figure includes its two census snapshots.
#
# Usage: bench/bench_vs_wrk.sh [path/to/waitless]   (default build/release/bin/waitless)
# Knobs: DURATION (s, default 5), CONNECTIONS (50), ROUNDS (3), SERVER_CPU (0), CLIENT_CPU (1).
# Needs root (ip netns), wrk, taskset, python3.
set -euo pipefail

cd "$(dirname "$0")/.."
bench=bench_vs_wrk
# shellcheck source=bench/lib.sh
. bench/lib.sh
waitless=${1:-build/release/bin/waitless}
duration=${DURATION:-5}
connections=${CONNECTIONS:-50}
rounds=${ROUNDS:-3}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}

need wrk taskset python3 awk
[ -x "$waitless" ] || die "no waitless binary at $waitless"
[ "$(id -u)" = 0 ] || die "needs root for ip netns"
bench_init
enter_new_namespace "waitless-bench-vs-wrk-$$"

# run_measured OUT COMMAND [ARGS...]: runs COMMAND pinned to client_cpu in the namespace, its
# stdout into OUT; prints "user_s system_s" of the command (getrusage of the finished child).
run_measured() {
    local out=$1
    shift
    python3 - "$out" "${run_in[@]}" taskset -c "$client_cpu" "$@" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    subprocess.run(sys.argv[2:], stdout=out, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{r.ru_utime:.4f} {r.ru_stime:.4f}")
PY
}

url_of() { echo "http://127.0.0.1:$1/"; }
measure_wrk() {
    local port=$1 user system requests errors
    read -r user system < <(run_measured "$tmp/wrk.out" wrk -t1 -c"$connections" \
        -d"${duration}s" "$(url_of "$port")")
    read -r requests errors < <(wrk_counts <"$tmp/wrk.out")
    echo "$requests $user $system $errors"
}
measure_waitless() {
    local port=$1 user system
    read -r user system < <(run_measured "$tmp/bench.json" "$waitless" bench --json \
        --mode keepalive --workers 1 -c "$connections" -d "${duration}s" "$(url_of "$port")")
    python3 -c "import json, sys
j = json.load(open(sys.argv[1]))
print(j['requests'], sys.argv[2], sys.argv[3], j['error_total'])" "$tmp/bench.json" "$user" "$system"
}

names=(wrk waitless)
declare -A total_requests total_cpu total_user total_errors
for name in "${names[@]}"; do
    total_requests[$name]=0 total_cpu[$name]=0 total_user[$name]=0 total_errors[$name]=0
done
port=$(free_port)
start_waitless "$port"
wait_for_port "$port" "$tmp/waitless.err"
run_wrk 1 "$port" -c"$connections" >/dev/null  # warm-up
for round in $(seq "$rounds"); do
    for name in "${names[@]}"; do
        read -r requests user system errors < <("measure_$name" "$port")
        cpu=$(awk -v u="$user" -v s="$system" 'BEGIN {printf "%.4f", u + s}')
        echo "round${round}_${name}_requests: $requests"
        echo "round${round}_${name}_cpu_s: $cpu"
        echo "round${round}_${name}_errors: $errors"
        total_requests[$name]=$((total_requests[$name] + requests))
        total_cpu[$name]=$(awk -v a="${total_cpu[$name]}" -v b="$cpu" 'BEGIN {print a + b}')
        total_user[$name]=$(awk -v a="${total_user[$name]}" -v b="$user" 'BEGIN {print a + b}')
        total_errors[$name]=$((total_errors[$name] + errors))
    done
done
stop_server

per_request_us() { awk -v t="$1" -v r="$2" 'BEGIN {printf "%.3f", r ? t * 1e6 / r : 0}'; }
for name in "${names[@]}"; do
    echo "${name}_requests: ${total_requests[$name]}"
    echo "${name}_requests_per_s: $((total_requests[$name] / (rounds * duration)))"
    echo "${name}_cpu_s: ${total_cpu[$name]}"
    echo "${name}_cpu_us_per_request: $(per_request_us "${total_cpu[$name]}" "${total_requests[$name]}")"
    echo "${name}_user_us_per_request: $(per_request_us "${total_user[$name]}" "${total_requests[$name]}")"
    echo "${name}_errors: ${total_errors[$name]}"
done
wrk_us=$(per_request_us "${total_cpu[wrk]}" "${total_requests[wrk]}")
bench_us=$(per_request_us "${total_cpu[waitless]}" "${total_requests[waitless]}")
echo "bench_cpu_ratio_vs_wrk: $(awk -v a="$bench_us" -v b="$wrk_us" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')"
