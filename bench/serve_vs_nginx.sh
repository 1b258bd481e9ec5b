#!/usr/bin/env bash
# waitless serve --workers 1 against nginx (one worker process) answering the same 12-byte body
# with keep-alive, side by side in one run: each server pinned to one core, wrk pinned to another.
# Figure of merit: server CPU time (utime + stime from /proc/PID/stat) per request wrk counted.
# A third server, bench/floor_server.cpp (no parser, fixed answer), is measured the same way:
# floor_cpu_ratio is the best any server could reach here, since the kernel's share is equal.
#
# Usage: bench/serve_vs_nginx.sh [path/to/waitless]   (default build/release/bin/waitless;
#        floor_server is looked for beside it)
# Knobs: DURATION (s, default 5), CONNECTIONS (50), ROUNDS (3), SERVER_CPU (0), CLIENT_CPU (1).
set -euo pipefail

cd "$(dirname "$0")/.."
waitless=${1:-build/release/bin/waitless}
floor=$(dirname "$waitless")/floor_server
duration=${DURATION:-5}
connections=${CONNECTIONS:-50}
rounds=${ROUNDS:-3}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}

for tool in nginx wrk taskset python3; do
    command -v "$tool" >/dev/null || { echo "serve_vs_nginx: needs $tool" >&2; exit 2; }
done
[ -x "$waitless" ] || { echo "serve_vs_nginx: no waitless binary at $waitless" >&2; exit 2; }
[ -x "$floor" ] || { echo "serve_vs_nginx: no floor_server beside it at $floor" >&2; exit 2; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
clock_ticks=$(getconf CLK_TCK)
# utime and stime of every thread of the process, in clock ticks.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
wait_for_port() {
    for _ in $(seq 100); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "serve_vs_nginx: nothing listens on port $1" >&2
    return 1
}

start_nginx() {
    local port=$1
    mkdir -p "$tmp/nginx"
    cat >"$tmp/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $tmp/nginx/error.log warn;
pid $tmp/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        location / { default_type text/plain; return 200 "hello world\n"; }
    }
}
CONF
    taskset -c "$server_cpu" nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" &
    server_pid=$!
    pids+=("$server_pid")
}

start_waitless() {
    local port=$1
    taskset -c "$server_cpu" "$waitless" serve --listen "127.0.0.1:$port" --workers 1 \
        >"$tmp/waitless.out" 2>"$tmp/waitless.err" &
    server_pid=$!
    pids+=("$server_pid")
}

start_floor() {
    taskset -c "$server_cpu" "$floor" "$1" >"$tmp/floor.out" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

# One measured run after a 1 s warm-up: prints "requests user_ticks system_ticks errors".
measure() {
    local port=$1 user0 sys0 user1 sys1 out requests errors
    taskset -c "$client_cpu" wrk -t1 -c"$connections" -d1s "http://127.0.0.1:$port/" >/dev/null
    read -r user0 sys0 < <(cpu_ticks "$server_pid")
    out=$(taskset -c "$client_cpu" wrk -t1 -c"$connections" -d"${duration}s" "http://127.0.0.1:$port/")
    read -r user1 sys1 < <(cpu_ticks "$server_pid")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    errors=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10} /Non-2xx/ {print $NF}' \
        <<<"$out" | awk '{s += $1} END {print s + 0}')
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
        echo "round${round}_${name}_cpu_s: $(awk -v t="$ticks" -v h="$clock_ticks" 'BEGIN {printf "%.2f", t / h}')"
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
    echo "${name}_cpu_s: $(awk -v t="${total_ticks[$name]}" -v h="$clock_ticks" 'BEGIN {printf "%.2f", t / h}')"
    echo "${name}_cpu_us_per_request: $(awk -v t="${total_ticks[$name]}" -v h="$clock_ticks" \
        -v r="${total_requests[$name]}" 'BEGIN {printf "%.3f", t / h * 1e6 / r}')"
    echo "${name}_user_us_per_request: $(awk -v t="${total_user[$name]}" -v h="$clock_ticks" \
        -v r="${total_requests[$name]}" 'BEGIN {printf "%.3f", t / h * 1e6 / r}')"
    echo "${name}_errors: ${total_errors[$name]}"
done
# Per-request CPU of server $1 over that of server $2.
ratio() {
    awk -v at="${total_ticks[$1]}" -v ar="${total_requests[$1]}" \
        -v bt="${total_ticks[$2]}" -v br="${total_requests[$2]}" \
        'BEGIN {printf "%.3f\n", (at / ar) / (bt / br)}'
}
echo "floor_cpu_ratio: $(ratio floor nginx)"
echo "serve_cpu_ratio: $(ratio waitless nginx)"
