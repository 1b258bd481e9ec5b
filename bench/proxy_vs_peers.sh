#!/usr/bin/env bash
# waitless proxy --workers 1 against nginx 1.22 as a proxy, HAProxy 2.6 and the floor proxy
# (bench/floor_proxy.cpp), side by side in one run, all in front of the same backend: an nginx
# answering 12 bytes, pinned with wrk to BACKEND_CPU; each proxy runs one worker pinned to
# PROXY_CPU. Three measurements per proxy, each in network namespaces the script makes:
#
# keep-alive  wrk -t1 -cCONNECTIONS --latency, after a 1 s warm-up, all proxies in turn in front
#             of one backend in one namespace: requests/s, the proxy's CPU per request (utime +
#             stime from /proc/PID/stat over the run / requests), p99 and median latency, and, from a
#             second run of the same length in the last round, the proxy's syscalls per request
#             (perf stat on every syscalls:sys_enter_* tracepoint of its threads, summed, /
#             requests; a run apart, so the counting costs the timed runs nothing). Upstream
#             connections opened during the warm-up and the timed run are counted as below.
# close       wrk -t1 -cCLOSE_CONNECTIONS -H "Connection: close", no warm-up, each proxy with a
#             backend of its own in a namespace of its own, so the TIME_WAIT counts do not mix:
#             requests/s, CPU per request, p99, how busy the core of wrk and the backend was
#             (client_core_busy_percent, /proc/stat: near 100, that core, not the proxy, sets
#             the pace), and the TIME_WAIT sockets in the namespace after
#             the run (the whole "host"), split by side: front_proxy (local port = the proxy's
#             listening port), front_client (wrk's, remote port = it), back_proxy (the proxy's
#             own, remote port = the backend's), back_backend (local port = the backend's);
#             time_wait_entered counts entries during the run (TcpExt TW + TWKilled), as the
#             count left is capped by the reuse of 4-tuples. Upstream connections opened over
#             the run are counted at the backend: the difference of its stub_status `accepts`
#             (served on a port of its own) before and after, less the one query counted in it.
# idle        IDLE_CONNECTIONS keep-alive clients (bench/hold_connections.py: one request each,
#             then held idle HOLD s), in a fresh namespace with a fresh proxy: its RSS growth
#             (VmRSS) per connection held. The count is capped where the descriptor limit
#             (ulimit -n, as high as this shell may raise it) would be met: the floor needs two
#             descriptors per client; the count actually held is printed.
#
# keep-alive and close run ROUNDS times, the proxies interleaved in each round; the figures are
# over all rounds (p99 and p50: the median of the rounds'), and each round's are printed too.
# waitless proxy is measured only if `WAITLESS proxy --help` succeeds; otherwise the script says
# `waitless_proxy: absent` and measures the peers and the floor. Ratios compare waitless with
# the better of nginx and HAProxy for each figure (best_peer) and with the floor.
# Peer settings beyond the issue's: keepalive_requests 1000000 on the nginx proxy (both sides)
# and the backend, so no side closes a keep-alive connection every 1000 requests; HAProxy's
# maxconn is the descriptor limit less 100 with `no strict-limits`, as it would otherwise refuse
# to start where it cannot raise the limit to two descriptors per connection (idle clients need
# one each with http-reuse always).
#
# Usage: bench/proxy_vs_peers.sh [path/to/waitless]   (default build/release/bin/waitless;
#        floor_proxy is looked for beside it, or at FLOOR_PROXY)
# Knobs: DURATION (s, default 5), ROUNDS (3), CONNECTIONS (50), CLOSE_CONNECTIONS (20),
#        IDLE_CONNECTIONS (10000), HOLD (s, 3), BACKEND_CPU (0, also wrk's), PROXY_CPU (1).
# Needs root (ip netns), nginx, haproxy, wrk, perf with syscall tracepoints, python3.
set -euo pipefail

cd "$(dirname "$0")/.."
bench=proxy_vs_peers
# shellcheck source=bench/lib.sh
. bench/lib.sh
waitless=${1:-build/release/bin/waitless}
floor=${FLOOR_PROXY:-$(dirname "$waitless")/floor_proxy}
duration=${DURATION:-5}
connections=${CONNECTIONS:-50}
close_connections=${CLOSE_CONNECTIONS:-20}
rounds=${ROUNDS:-3}
idle_connections=${IDLE_CONNECTIONS:-10000}
hold=${HOLD:-3}
backend_cpu=${BACKEND_CPU:-0}
proxy_cpu=${PROXY_CPU:-1}
client_cpu=$backend_cpu  # lib.sh's run_wrk pins wrk here

need nginx haproxy wrk taskset python3 awk ip ss perf
[ -x "$floor" ] || die "no floor_proxy at $floor (cmake --build --preset release --target floor_proxy)"
[ "$(id -u)" = 0 ] || die "needs root for ip netns"
perf stat -e 'syscalls:sys_enter_getpid' true >/dev/null 2>&1 ||
    die "perf cannot count syscall tracepoints here"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
descriptors=$(ulimit -n)
worker_connections=$((descriptors - 100))
bench_init

proxies=(nginx haproxy floor)
if [ -x "$waitless" ] && timeout 10 "$waitless" proxy --help >/dev/null 2>&1; then
    proxies=(waitless nginx haproxy floor)
    echo "waitless_proxy: present"
else
    echo "waitless_proxy: absent"
fi
echo "descriptor_limit: $descriptors"

# Sets backend_port, status_port and backend_pid: the backend nginx in the current namespace.
start_backend() {
    local ports
    mapfile -t ports < <(free_ports 2)
    backend_port=${ports[0]} status_port=${ports[1]}
    write_nginx_conf "$tmp/backend" "$worker_connections" "    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$backend_port backlog=4096;
        $nginx_hello
    }
    server {
        listen 127.0.0.1:$status_port;
        location / { stub_status; }
    }"
    start_pinned "$backend_cpu" "$tmp/backend/out.log" nginx -c "$tmp/backend/nginx.conf" \
        -p "$tmp/backend"
    backend_pid=$started_pid
    wait_for_port "$backend_port" "$tmp/backend/out.log"
}

# start_proxy NAME: sets proxy_port and proxy_pid: that proxy in front of the backend.
start_proxy() {
    local name=$1 log=$tmp/$1.log
    proxy_port=$(free_ports 1)
    case $name in
        waitless)
            start_pinned "$proxy_cpu" "$log" "$waitless" proxy --listen "127.0.0.1:$proxy_port" \
                --upstream "127.0.0.1:$backend_port" --workers 1 ;;
        nginx)
            write_nginx_conf "$tmp/nginx-proxy" "$worker_connections" "    keepalive_requests 1000000;
    upstream backend {
        server 127.0.0.1:$backend_port;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$proxy_port backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"
            start_pinned "$proxy_cpu" "$log" nginx -c "$tmp/nginx-proxy/nginx.conf" \
                -p "$tmp/nginx-proxy" ;;
        haproxy)
            cat >"$tmp/haproxy.cfg" <<CONF
global
    nbthread 1
    maxconn $worker_connections
    no strict-limits
defaults
    mode http
    maxconn $worker_connections
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 30s
    timeout http-keep-alive 30s
    http-reuse always
frontend proxy
    bind 127.0.0.1:$proxy_port
    default_backend backend
backend backend
    server backend 127.0.0.1:$backend_port
CONF
            start_pinned "$proxy_cpu" "$log" haproxy -db -f "$tmp/haproxy.cfg" ;;
        floor)
            start_pinned "$proxy_cpu" "$log" "$floor" "$proxy_port" "$backend_port" ;;
    esac
    proxy_pid=$started_pid
    wait_for_port "$proxy_port" "$log"
}

# Figures by "name.figure"; printed as `mode_name_figure: value` and in the table. Figures
# measured once per round collect here as lists first (add), reduced after the last round.
declare -A fig
add() { fig[$1.$2]="${fig[$1.$2]:-} $3"; }
sum() { awk -v l="${fig[$1.$2]}" 'BEGIN {n = split(l, v, " "); for (i = 1; i <= n; i++) s += v[i]; print s}'; }
mean() { awk -v l="${fig[$1.$2]}" 'BEGIN {n = split(l, v, " "); for (i = 1; i <= n; i++) s += v[i]
    printf "%.0f", n ? s / n : 0}'; }
median() { tr ' ' '\n' <<<"${fig[$1.$2]}" | grep . | sort -n | awk '{v[NR] = $1}
    END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ticks_of() { local u s; read -r u s < <(cpu_ticks "$1"); echo $((u + s)); }
round_line() { echo "round${round}_$1: $2"; }

# keep-alive: one namespace, one backend for every proxy; rounds interleave the proxies, so a
# burst of load from elsewhere on the machine hits one round of one of them. Syscalls are
# counted once, in the last round.
enter_new_namespace "waitless-proxy-$$-ka"
start_backend
for round in $(seq "$rounds"); do
    for name in "${proxies[@]}"; do
        start_proxy "$name"
        accepts0=$(nginx_accepts "$status_port")
        run_wrk 1 "$proxy_port" -c"$connections" >/dev/null
        ticks0=$(ticks_of "$proxy_pid")
        run_wrk "$duration" "$proxy_port" -c"$connections" --latency >"$tmp/wrk.out"
        ticks=$(($(ticks_of "$proxy_pid") - ticks0))
        accepts1=$(nginx_accepts "$status_port")
        read -r requests errors < <(wrk_counts <"$tmp/wrk.out")
        if [ "$round" = "$rounds" ]; then
            perf_count_wrk "$proxy_pid" 'syscalls:sys_enter_*' "$duration" "$proxy_port" \
                -c"$connections" >"$tmp/wrk-counted.out"
            read -r counted_requests _ < <(wrk_counts <"$tmp/wrk-counted.out")
            fig[$name.ka_syscalls]=$(awk -v c="$(cat "$tmp/perf_sum")" -v r="$counted_requests" \
                'BEGIN {printf "%.2f", r ? c / r : 0}')
        fi
        stop_pid "$proxy_pid"
        add "$name" ka_rps "$(wrk_rps <"$tmp/wrk.out")"
        add "$name" ka_p99 "$(wrk_p99_us <"$tmp/wrk.out")"
        add "$name" ka_p50 "$(wrk_p50_us <"$tmp/wrk.out")"
        add "$name" ka_requests "$requests"
        add "$name" ka_ticks "$ticks"
        add "$name" ka_errors "$errors"
        add "$name" ka_upstream $((accepts1 - accepts0 - 1))
        round_line "ka_${name}_requests_per_s" "$(wrk_rps <"$tmp/wrk.out")"
        round_line "ka_${name}_cpu_us_per_request" "$(ticks_per_request_us "$ticks" "$requests")"
        round_line "ka_${name}_p99_us" "$(wrk_p99_us <"$tmp/wrk.out")"
    done
done
stop_pid "$backend_pid"
leave_namespace "waitless-proxy-$$-ka"

# close: a namespace and a backend per proxy and round.
for round in $(seq "$rounds"); do
    for name in "${proxies[@]}"; do
        ns=waitless-proxy-$$-close-$name
        enter_new_namespace "$ns"
        if [ "$round" = 1 ] && [ "$name" = "${proxies[0]}" ]; then
            echo "close_tw_reuse: $("${run_in[@]}" sysctl -n net.ipv4.tcp_tw_reuse)"
            echo "close_port_range: $("${run_in[@]}" sysctl -n net.ipv4.ip_local_port_range |
                tr -s '\t ' -)"
        fi
        start_backend
        start_proxy "$name"
        accepts0=$(nginx_accepts "$status_port")
        ticks0=$(ticks_of "$proxy_pid")
        read -r busy0 idle0 < <(core_ticks "$client_cpu")
        run_wrk "$duration" "$proxy_port" -c"$close_connections" -H "Connection: close" \
            --latency >"$tmp/wrk.out"
        ticks=$(($(ticks_of "$proxy_pid") - ticks0))
        read -r busy1 idle1 < <(core_ticks "$client_cpu")
        add "$name" close_client_busy "$(awk -v b=$((busy1 - busy0)) -v i=$((idle1 - idle0)) \
            'BEGIN {printf "%.0f", b + i ? 100 * b / (b + i) : 0}')"
        add "$name" close_tw "$(time_wait_count)"
        add "$name" close_tw_front_proxy "$(time_wait_count "( sport = :$proxy_port )")"
        add "$name" close_tw_front_client "$(time_wait_count "( dport = :$proxy_port )")"
        add "$name" close_tw_back_proxy "$(time_wait_count "( dport = :$backend_port )")"
        add "$name" close_tw_back_backend "$(time_wait_count "( sport = :$backend_port )")"
        add "$name" close_tw_entered "$(time_wait_entered)"
        accepts1=$(nginx_accepts "$status_port")
        read -r requests errors < <(wrk_counts <"$tmp/wrk.out")
        stop_pid "$proxy_pid"
        stop_pid "$backend_pid"
        leave_namespace "$ns"
        add "$name" close_rps "$(wrk_rps <"$tmp/wrk.out")"
        add "$name" close_p99 "$(wrk_p99_us <"$tmp/wrk.out")"
        add "$name" close_requests "$requests"
        add "$name" close_ticks "$ticks"
        add "$name" close_errors "$errors"
        add "$name" close_upstream $((accepts1 - accepts0 - 1))
        round_line "close_${name}_requests_per_s" "$(wrk_rps <"$tmp/wrk.out")"
        round_line "close_${name}_cpu_us_per_request" "$(ticks_per_request_us "$ticks" "$requests")"
        round_line "close_${name}_p99_us" "$(wrk_p99_us <"$tmp/wrk.out")"
    done
done

# Over the rounds: requests/s and counts per run are means, p99 the median, CPU per request
# the total CPU over the total requests, errors the total.
for name in "${proxies[@]}"; do
    for mode in ka close; do
        fig[$name.${mode}_cpu]=$(ticks_per_request_us "$(sum "$name" ${mode}_ticks)" \
            "$(sum "$name" ${mode}_requests)")
        fig[$name.${mode}_p99]=$(median "$name" ${mode}_p99)
        fig[$name.${mode}_errors]=$(sum "$name" ${mode}_errors)
        for key in ${mode}_rps ${mode}_upstream; do fig[$name.$key]=$(mean "$name" "$key"); done
    done
    fig[$name.ka_p50]=$(median "$name" ka_p50)
    for key in close_tw close_tw_front_proxy close_tw_front_client close_tw_back_proxy \
        close_tw_back_backend close_tw_entered close_client_busy; do
        fig[$name.$key]=$(mean "$name" "$key")
    done
done

# idle: a namespace, a backend and a fresh proxy per proxy; RSS before (after a few
# connections came and went) and while the clients are held.
for name in "${proxies[@]}"; do
    ns=waitless-proxy-$$-idle-$name
    enter_new_namespace "$ns"
    start_backend
    start_proxy "$name"
    per_client=1
    [ "$name" = floor ] && per_client=2
    count=$(( (descriptors - 100) / per_client ))
    [ "$count" -gt "$idle_connections" ] && count=$idle_connections
    "${run_in[@]}" taskset -c "$client_cpu" python3 bench/hold_connections.py "$proxy_port" 10 0 \
        >/dev/null
    rss0=$(rss_kib "$proxy_pid")
    start_pinned "$client_cpu" "$tmp/hold.out" python3 bench/hold_connections.py "$proxy_port" \
        "$count" "$hold"
    holder=$started_pid
    for _ in $(seq 900); do  # the holder gives up opening after 60 s; this waits 90 s at most
        if grep -q '^held:' "$tmp/hold.out" || ! kill -0 "$holder" 2>/dev/null; then break; fi
        sleep 0.1
    done
    rss1=$(rss_kib "$proxy_pid")
    wait "$holder" || true
    stop_pid "$holder"
    held=$(awk '/^held:/ {print $2}' "$tmp/hold.out")
    held=${held:-0}
    if grep -q '^stopped:' "$tmp/hold.out"; then
        echo "idle_${name}_note: $(sed -n 's/^stopped: //p' "$tmp/hold.out") after $held of $count"
    fi
    stop_pid "$proxy_pid"
    stop_pid "$backend_pid"
    leave_namespace "$ns"
    fig[$name.idle_held]=$held
    fig[$name.idle_rss]=$(awk -v a="$rss0" -v b="$rss1" -v n="$held" \
        'BEGIN {printf "%.0f", n ? (b - a) * 1024 / n : 0}')
done

# The lines, then the table.
lines=(ka_rps:requests_per_s ka_cpu:cpu_us_per_request ka_p99:p99_us ka_p50:p50_us
    ka_syscalls:syscalls_per_request ka_upstream:upstream_connections ka_errors:errors
    close_rps:requests_per_s close_cpu:cpu_us_per_request close_p99:p99_us close_errors:errors
    close_tw:time_wait close_tw_front_proxy:time_wait_front_proxy
    close_tw_front_client:time_wait_front_client close_tw_back_proxy:time_wait_back_proxy
    close_tw_back_backend:time_wait_back_backend close_tw_entered:time_wait_entered
    close_upstream:upstream_connections close_client_busy:client_core_busy_percent
    idle_held:connections idle_rss:rss_bytes_per_connection)
for name in "${proxies[@]}"; do
    for line in "${lines[@]}"; do
        key=${line%%:*}
        echo "${key%%_*}_${name}_${line#*:}: ${fig[$name.$key]}"
    done
done

echo
echo "| proxy | keep-alive req/s | CPU µs/req | p99 µs | syscalls/req | upstream conns |" \
    "close req/s | CPU µs/req | p99 µs | TIME_WAIT after (front proxy/client, back proxy/backend) |" \
    "upstream conns | idle conns | RSS B/conn |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"
f() { echo "${fig[$name.$1]}"; }  # a figure of the proxy in $name
for name in "${proxies[@]}"; do
    echo "| $name | $(f ka_rps) | $(f ka_cpu) | $(f ka_p99) | $(f ka_syscalls) | $(f ka_upstream) |" \
        "$(f close_rps) | $(f close_cpu) | $(f close_p99) | $(f close_tw)" \
        "($(f close_tw_front_proxy)/$(f close_tw_front_client)," \
        "$(f close_tw_back_proxy)/$(f close_tw_back_backend)) |" \
        "$(f close_upstream) | $(f idle_held) | $(f idle_rss) |"
done
echo

# best FIGURE min|max: the better of nginx's and HAProxy's value.
best() {
    awk -v a="${fig[nginx.$1]}" -v b="${fig[haproxy.$1]}" -v how="$2" \
        'BEGIN {print (how == "min") == (a + 0 < b + 0) ? a : b}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b + 0 ? a / b : 0}'; }
echo "floor_cpu_ratio_vs_best_peer: $(ratio "${fig[floor.ka_cpu]}" "$(best ka_cpu min)")"
echo "floor_close_cpu_ratio_vs_best_peer: $(ratio "${fig[floor.close_cpu]}" \
    "$(best close_cpu min)")"
if [ "${proxies[0]}" = waitless ]; then
    echo "proxy_cpu_ratio_vs_best_peer: $(ratio "${fig[waitless.ka_cpu]}" "$(best ka_cpu min)")"
    echo "proxy_cpu_ratio_vs_floor: $(ratio "${fig[waitless.ka_cpu]}" "${fig[floor.ka_cpu]}")"
    echo "proxy_rps_ratio_vs_best_peer: $(ratio "${fig[waitless.ka_rps]}" "$(best ka_rps max)")"
    echo "proxy_p99_ratio_vs_best_peer: $(ratio "${fig[waitless.ka_p99]}" "$(best ka_p99 min)")"
    echo "proxy_syscalls_ratio_vs_floor: $(ratio "${fig[waitless.ka_syscalls]}" \
        "${fig[floor.ka_syscalls]}")"
    echo "close_rps_ratio_vs_best_peer: $(ratio "${fig[waitless.close_rps]}" \
        "$(best close_rps max)")"
    echo "close_cpu_ratio_vs_best_peer: $(ratio "${fig[waitless.close_cpu]}" \
        "$(best close_cpu min)")"
    echo "idle_rss_ratio_vs_nginx: $(ratio "${fig[waitless.idle_rss]}" "${fig[nginx.idle_rss]}")"
fi
