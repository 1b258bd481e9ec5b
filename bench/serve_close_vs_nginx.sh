#!/usr/bin/env bash
# waitless serve --workers 1 against nginx (one worker process) when every request comes on a new
# connection (wrk -H "Connection: close"), side by side in one run: each server pinned to one
# core, wrk pinned to another. waitless runs with its default close policy and with each policy
# named in CLOSE_POLICIES. Per server: requests/s, server CPU per request, and the TIME_WAIT
# sockets left after the run, split by side: server-side ones have the server's port as local
# port, client-side ones (wrk's, holding ephemeral ports) have it as remote port. wrk's own CPU
# per request is printed too (client_cpu_us_per_request): a close policy can move cost there.
# The count left after a run is capped near the ports wrk cycles through (a new connection on
# the 4-tuple of a TIME_WAIT takes it over, on either side), so time_wait_entered adds how many
# sockets entered TIME_WAIT during the run, both sides together (TcpExt TW + TWKilled).
# Each run has a network namespace of its own, made for it and deleted after it, so the 60 s of
# TIME_WAIT one run leaves cannot slow the next. The namespaces keep the kernel's defaults
# (printed as close_tw_reuse and close_port_range). No warm-up: it would leave TIME_WAIT behind.
#
# Usage: bench/serve_close_vs_nginx.sh [path/to/waitless]   (default build/release/bin/waitless)
# Knobs: DURATION (s, default 5), CONNECTIONS (20), ROUNDS (1), SERVER_CPU (0), CLIENT_CPU (1),
#        CLOSE_POLICIES ("graceful abortive"). Needs root (ip netns).
# nginx runs twice: as configured by default, and with `listen ... deferred` (TCP_DEFER_ACCEPT,
# which waitless sets by default: see --defer-accept); close_cpu_ratio is against the first,
# close_cpu_ratio_vs_nginx_deferred against the second.
set -euo pipefail

cd "$(dirname "$0")/.."
bench=serve_close_vs_nginx
# shellcheck source=bench/lib.sh
. bench/lib.sh
waitless=${1:-build/release/bin/waitless}
duration=${DURATION:-5}
connections=${CONNECTIONS:-20}
rounds=${ROUNDS:-1}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}
read -r -a policies <<<"${CLOSE_POLICIES:-graceful abortive}"

need nginx wrk taskset python3 awk ip ss
[ -x "$waitless" ] || die "no waitless binary at $waitless"
[ "$(id -u)" = 0 ] || die "needs root for ip netns"
bench_init

# Server names: waitless (its default policy: no --close-policy flag), waitless_POLICY, nginx.
servers=(waitless)
for policy in "${policies[@]}"; do servers+=("waitless_$policy"); done
servers+=(nginx nginx_deferred)
start() {
    case $1 in
        waitless) start_waitless "$2" ;;
        waitless_*) start_waitless "$2" --close-policy "${1#waitless_}" ;;
        nginx) start_nginx "$2" ;;
        nginx_deferred) start_nginx "$2" deferred ;;
    esac
}

declare -A requests_of ticks_of client_s_of errors_of server_tw_of client_tw_of entered_tw_of
for name in "${servers[@]}"; do
    requests_of[$name]=0 ticks_of[$name]=0 client_s_of[$name]=0 errors_of[$name]=0
    entered_tw_of[$name]=0
    server_tw_of[$name]=0 client_tw_of[$name]=0
done
for round in $(seq "$rounds"); do
    for name in "${servers[@]}"; do
        ns=waitless-close-$$-$name
        enter_new_namespace "$ns"
        if [ "$round" = 1 ] && [ "$name" = "${servers[0]}" ]; then
            echo "close_tw_reuse: $("${run_in[@]}" sysctl -n net.ipv4.tcp_tw_reuse)"
            echo "close_port_range: $("${run_in[@]}" sysctl -n net.ipv4.ip_local_port_range |
                tr -s '\t ' -)"
        fi
        port=$(free_port)
        start "$name" "$port"
        wait_for_port "$port"
        read -r user0 sys0 < <(cpu_ticks "$server_pid")
        TIMEFORMAT='%U %S'
        { time run_wrk "$duration" "$port" -c"$connections" -H "Connection: close" \
            >"$tmp/wrk.out"; } 2>"$tmp/wrk.time"
        client_s=$(awk '{print $1 + $2}' "$tmp/wrk.time")
        read -r user1 sys1 < <(cpu_ticks "$server_pid")
        read -r requests errors < <(wrk_counts <"$tmp/wrk.out")
        server_tw=$(time_wait_count "( sport = :$port )")
        client_tw=$(time_wait_count "( dport = :$port )")
        entered_tw=$(time_wait_entered)
        stop_server
        leave_namespace "$ns"
        ticks=$((user1 - user0 + sys1 - sys0))
        echo "round${round}_close_${name}_requests: $requests"
        echo "round${round}_close_${name}_cpu_s: $(ticks_to_s "$ticks")"
        echo "round${round}_close_${name}_time_wait_server: $server_tw"
        echo "round${round}_close_${name}_time_wait_client: $client_tw"
        echo "round${round}_close_${name}_time_wait_entered: $entered_tw"
        requests_of[$name]=$((requests_of[$name] + requests))
        ticks_of[$name]=$((ticks_of[$name] + ticks))
        client_s_of[$name]=$(awk -v a="${client_s_of[$name]}" -v b="$client_s" 'BEGIN {print a + b}')
        errors_of[$name]=$((errors_of[$name] + errors))
        server_tw_of[$name]=$((server_tw_of[$name] + server_tw))
        client_tw_of[$name]=$((client_tw_of[$name] + client_tw))
        entered_tw_of[$name]=$((entered_tw_of[$name] + entered_tw))
    done
done

# TIME_WAIT figures are per run (averaged over the rounds); the rest as in serve_vs_nginx.sh.
for name in "${servers[@]}"; do
    echo "close_${name}_requests_per_s: $((requests_of[$name] / (rounds * duration)))"
    echo "close_${name}_cpu_us_per_request: $(ticks_per_request_us "${ticks_of[$name]}" \
        "${requests_of[$name]}")"
    echo "close_${name}_client_cpu_us_per_request: $(awk -v s="${client_s_of[$name]}" \
        -v r="${requests_of[$name]}" 'BEGIN {printf "%.3f", r ? s * 1e6 / r : 0}')"
    echo "close_${name}_errors: ${errors_of[$name]}"
    echo "close_${name}_time_wait_server: $((server_tw_of[$name] / rounds))"
    echo "close_${name}_time_wait_client: $((client_tw_of[$name] / rounds))"
    echo "close_${name}_time_wait_entered: $((entered_tw_of[$name] / rounds))"
done
echo "close_cpu_ratio: $(awk -v at="${ticks_of[waitless]}" -v ar="${requests_of[waitless]}" \
    -v bt="${ticks_of[nginx]}" -v br="${requests_of[nginx]}" \
    'BEGIN {printf "%.3f", (at / ar) / (bt / br)}')"
echo "close_cpu_ratio_vs_nginx_deferred: $(awk -v at="${ticks_of[waitless]}" \
    -v ar="${requests_of[waitless]}" -v bt="${ticks_of[nginx_deferred]}" \
    -v br="${requests_of[nginx_deferred]}" 'BEGIN {printf "%.3f", (at / ar) / (bt / br)}')"
echo "close_rps_ratio: $(awk -v a="${requests_of[waitless]}" -v b="${requests_of[nginx]}" \
    'BEGIN {printf "%.3f", a / b}')"
echo "close_time_wait_total_waitless: $(((server_tw_of[waitless] + client_tw_of[waitless]) / rounds))"
echo "close_time_wait_total_nginx: $(((server_tw_of[nginx] + client_tw_of[nginx]) / rounds))"
