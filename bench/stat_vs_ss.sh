#!/usr/bin/env bash
# `waitless stat --json` against `ss -Htan state time-wait | wc -l` with 60,000 TIME_WAIT
# sockets, in a network namespace made for the run; then waitless's peak RSS with 100,000.
# Needs root (ip netns). Uses the build named by WAITLESS_BUILD (default build/release).
# Prints `name: value` lines; the goals are stat_vs_ss_ratio <= 0.5 and stat_rss_mib <= 16.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${WAITLESS_BUILD:-build/release}
if [ ! -x "$build/bin/waitless" ]; then
    cmake --preset release >/dev/null && cmake --build --preset release --target waitless >/dev/null
    build=build/release
fi
waitless=$(realpath "$build/bin/waitless")
runs=${RUNS:-15}

ns=waitless-bench-$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
# No reuse, and a wide range, so that every connection leaves its own TIME_WAIT socket.
in_ns sysctl -qw net.ipv4.tcp_tw_reuse=0 net.ipv4.ip_local_port_range="1024 65535"

# TIME_WAIT lasts 60 s: everything below runs within that from the first socket made.
in_ns python3 bench/make_time_wait.py 60000 >/dev/null
counted=$(in_ns ss -Htan state time-wait | wc -l)
echo "time_wait_sockets: $counted"
[ "$counted" -ge 60000 ] || { echo "error: expected 60000 TIME_WAIT sockets" >&2; exit 1; }

# Both pinned to the same core, alternating, medians.
in_ns taskset -c 1 python3 bench/compare_commands.py stat_vs_ss "$runs" \
    "$waitless stat --json" "ss -Htan state time-wait | wc -l" |
    sed -e 's/^stat_vs_ss_a_ms/stat_ms/' -e 's/^stat_vs_ss_b_ms/ss_ms/'

in_ns python3 bench/make_time_wait.py 40000 >/dev/null
echo "time_wait_sockets_for_rss: $(in_ns ss -Htan state time-wait | wc -l)"
# GNU time forks from its own small process, so the peak is waitless's own.
rss_kib=$(in_ns /usr/bin/time -f %M "$waitless" stat --json 2>&1 >/dev/null | tail -n 1)
echo "stat_rss_mib: $(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')"
