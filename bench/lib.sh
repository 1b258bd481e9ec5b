# shellcheck shell=bash disable=SC2154  # bench, waitless, floor and the CPUs come from the caller
# Helpers shared by bench/serve_vs_nginx.sh and bench/serve_close_vs_nginx.sh; sourced, not run.
# The caller sets `bench` (its name, for messages), `server_cpu` and `client_cpu`, then calls
# bench_init. Servers run under the command prefix in the array `run_in` (empty: this network
# namespace; `ip netns exec NS`: that one), so the same helpers serve both scripts.

die() { echo "$bench: $*" >&2; exit 2; }
need() {
    local tool
    for tool in "$@"; do command -v "$tool" >/dev/null || die "needs $tool (not found in PATH)"; done
}

# A temporary directory, and a trap that stops every process and deletes every network
# namespace started through the helpers below, however the script ends.
bench_init() {
    tmp=$(mktemp -d)
    pids=()
    namespaces=()
    run_in=()
    clock_ticks=$(getconf CLK_TCK)
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}
bench_cleanup() {
    local pid ns
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$tmp"
}

# A fresh network namespace with loopback up; later commands of the helpers run inside it.
enter_new_namespace() {
    local ns=$1
    ip netns add "$ns" || die "cannot create network namespace $ns (needs root)"
    namespaces+=("$ns")
    ip -n "$ns" link set lo up
    run_in=(ip netns exec "$ns")
}
leave_namespace() {
    local ns=$1
    run_in=()
    ip netns del "$ns"
    local kept=() n
    for n in "${namespaces[@]}"; do [ "$n" = "$ns" ] || kept+=("$n"); done
    namespaces=("${kept[@]}")
}

free_port() {
    "${run_in[@]}" python3 -c \
        'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for_port() {
    for _ in $(seq 100); do
        "${run_in[@]}" python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" \
            2>/dev/null && return 0
        sleep 0.05
    done
    die "nothing listens on port $1"
}
# utime and stime of every thread of the process, in clock ticks.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
ticks_to_s() { awk -v t="$1" -v h="$clock_ticks" 'BEGIN {printf "%.2f", t / h}'; }
ticks_per_request_us() {
    awk -v t="$1" -v h="$clock_ticks" -v r="$2" 'BEGIN {printf "%.3f", r ? t / h * 1e6 / r : 0}'
}

# Each start_* runs a server pinned to server_cpu and sets server_pid to it (ip netns exec and
# taskset exec the server, so the PID is the server's own).
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
    "${run_in[@]}" taskset -c "$server_cpu" nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" &
    server_pid=$!
    pids+=("$server_pid")
}
# start_waitless PORT [more serve flags...]
start_waitless() {
    local port=$1
    shift
    "${run_in[@]}" taskset -c "$server_cpu" "$waitless" serve --listen "127.0.0.1:$port" \
        --workers 1 "$@" >"$tmp/waitless.out" 2>"$tmp/waitless.err" &
    server_pid=$!
    pids+=("$server_pid")
}
start_floor() {
    "${run_in[@]}" taskset -c "$server_cpu" "$floor" "$1" >"$tmp/floor.out" 2>&1 &
    server_pid=$!
    pids+=("$server_pid")
}
stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

# wrk pinned to client_cpu, in the current namespace: run_wrk SECONDS PORT [wrk flags...]
run_wrk() {
    local seconds=$1 port=$2
    shift 2
    "${run_in[@]}" taskset -c "$client_cpu" wrk -t1 -d"${seconds}s" "$@" "http://127.0.0.1:$port/"
}
# From wrk's output on stdin: "requests errors" (socket errors and non-2xx responses).
wrk_counts() {
    awk '/requests in/ {r = $1}
         /Socket errors/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
         /Non-2xx/ {e += $NF}
         END {print r + 0, e + 0}'
}

# How epoll_wait calls are counted: perf's syscall tracepoints if they work here, else
# strace -c (which slows the traced server a lot; only the count is kept).
epoll_events=(syscalls:sys_enter_epoll_wait syscalls:sys_enter_epoll_pwait
    syscalls:sys_enter_epoll_pwait2)
choose_epoll_counter() {
    local events
    events=$(IFS=,; echo "${epoll_events[*]}")
    if command -v perf >/dev/null && perf stat -e "$events" true >/dev/null 2>&1; then
        epoll_counter=perf
    elif command -v strace >/dev/null; then
        epoll_counter=strace
    else
        die "needs perf (with syscall tracepoints) or strace to count epoll_wait"
    fi
}
# Runs wrk (arguments as for run_wrk, output on stdout) while counting the epoll_wait,
# epoll_pwait and epoll_pwait2 calls of every thread of server_pid into $tmp/epoll_calls.
count_epoll_waits() {
    local events
    events=$(IFS=,; echo "${epoll_events[*]}")
    if [ "$epoll_counter" = perf ]; then
        # With -p and a command, perf counts the process for as long as the command runs.
        taskset -c "$client_cpu" perf stat -x, -o "$tmp/perf.out" -e "$events" -p "$server_pid" \
            -- "${run_in[@]}" taskset -c "$client_cpu" wrk -t1 -d"${1}s" "${@:3}" \
            "http://127.0.0.1:$2/"
        # "<not counted>" (no thread ran) counts as 0.
        awk -F, '/sys_enter_epoll/ {s += ($1 ~ /^[0-9]+$/) ? $1 : 0} END {print s + 0}' \
            "$tmp/perf.out" >"$tmp/epoll_calls"
    else
        taskset -c "$client_cpu" strace -c -f -q -e trace=epoll_wait,epoll_pwait,epoll_pwait2 \
            -o "$tmp/strace.out" -p "$server_pid" &
        local tracer=$!
        pids+=("$tracer")
        sleep 0.5  # strace attaches to every thread before the load starts
        run_wrk "$@"
        kill -INT "$tracer"
        wait "$tracer" 2>/dev/null || true
        # strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall.
        awk '$NF ~ /^epoll_(wait|pwait|pwait2)$/ {s += $4} END {print s + 0}' \
            "$tmp/strace.out" >"$tmp/epoll_calls"
    fi
}
