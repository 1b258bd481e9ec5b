# shellcheck shell=bash disable=SC2154  # bench, waitless, floor and the CPUs come from the caller
# Helpers shared by bench/serve_vs_nginx.sh, bench/serve_close_vs_nginx.sh and
# bench/proxy_vs_peers.sh; sourced, not run.
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

# The start of bench/proxy_instructions.sh and bench/proxy_builds.sh, which put proxies one at
# a time in front of one nginx answering 12 bytes: proxy_bench_setup WAITLESS NAMESPACE checks
# for root and the floor proxy (beside WAITLESS, or at FLOOR_PROXY), calls bench_init, enters a
# new namespace and starts the backend. Sets floor, connections (CONNECTIONS, 50), proxy_cpu
# (PROXY_CPU, 1), the CPU of the backend and wrk (BACKEND_CPU, 0), backend_port and proxy_port.
proxy_bench_setup() {
    floor=${FLOOR_PROXY:-$(dirname "$1")/floor_proxy}
    connections=${CONNECTIONS:-50}
    proxy_cpu=${PROXY_CPU:-1}
    server_cpu=${BACKEND_CPU:-0}  # start_nginx pins the backend here
    client_cpu=$server_cpu        # and run_wrk pins wrk here
    [ -x "$floor" ] ||
        die "no floor_proxy at $floor (cmake --build --preset release --target floor_proxy)"
    [ "$(id -u)" = 0 ] || die "needs root for ip netns"
    bench_init
    enter_new_namespace "$2"
    local ports
    mapfile -t ports < <(free_ports 2)
    backend_port=${ports[0]}
    proxy_port=${ports[1]}
    start_nginx "$backend_port"
    wait_for_port "$backend_port" "$tmp/nginx/out.log"
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
# free_ports N: N distinct ports that are free now on 127.0.0.1 in the current namespace.
free_ports() {
    "${run_in[@]}" python3 -c "import socket
sockets = [socket.socket() for _ in range($1)]
for s in sockets:
    s.bind(('127.0.0.1', 0))
print('\n'.join(str(s.getsockname()[1]) for s in sockets))"
}
# wait_for_port PORT [LOG]: LOG (the server's output) is shown if nothing comes to listen.
# The probe closes with a reset (SO_LINGER 0), so it leaves no TIME_WAIT to be counted later.
wait_for_port() {
    for _ in $(seq 100); do
        "${run_in[@]}" python3 -c "import socket, struct
s = socket.create_connection(('127.0.0.1', $1), 0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))" \
            2>/dev/null && return 0
        sleep 0.05
    done
    [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/    /' "$2" >&2
    die "nothing listens on port $1"
}
# Busy and idle ticks of one CPU so far (/proc/stat; iowait counts as idle).
core_ticks() { awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }
# utime and stime of every thread of the process, in clock ticks.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
ticks_to_s() { awk -v t="$1" -v h="$clock_ticks" 'BEGIN {printf "%.2f", t / h}'; }
ticks_per_request_us() {
    awk -v t="$1" -v h="$clock_ticks" -v r="$2" 'BEGIN {printf "%.3f", r ? t / h * 1e6 / r : 0}'
}

# start_pinned CPU LOG COMMAND [ARGS...]: runs COMMAND in the current namespace pinned to CPU,
# its output into the file LOG, stopped by the trap at the latest; sets started_pid (ip netns
# exec and taskset exec the command, so the PID is its own).
start_pinned() {
    local cpu=$1 log=$2
    shift 2
    "${run_in[@]}" taskset -c "$cpu" "$@" >"$log" 2>&1 &
    started_pid=$!
    pids+=("$started_pid")
}
# Stops a process started here and forgets it, so the trap cannot hit a later owner of its PID.
stop_pid() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local kept=() pid
    for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
    pids=("${kept[@]}")
}

# write_nginx_conf DIR WORKER_CONNECTIONS HTTP_BODY: DIR/nginx.conf for one nginx process in the
# foreground (no master), no access log, every file under DIR; HTTP_BODY goes inside http { }.
write_nginx_conf() {
    local dir=$1 connections=$2 body=$3
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/error.log warn;
pid $dir/nginx.pid;
events { worker_connections $connections; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
$body
}
CONF
}
# The location that answers every request with the same 12 bytes as the other servers here.
nginx_hello='location / { default_type text/plain; return 200 "hello world\n"; }'

# Each start_* runs a server pinned to server_cpu and sets server_pid to it (ip netns exec and
# taskset exec the server, so the PID is the server's own).
# start_nginx PORT [listen parameters, such as deferred]
start_nginx() {
    local port=$1 listen_parameters=${2:+ $2}
    write_nginx_conf "$tmp/nginx" 4096 "    server {
        listen 127.0.0.1:$port$listen_parameters;
        $nginx_hello
    }"
    start_pinned "$server_cpu" "$tmp/nginx/out.log" nginx -c "$tmp/nginx/nginx.conf" \
        -p "$tmp/nginx"
    server_pid=$started_pid
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
    start_pinned "$server_cpu" "$tmp/floor.out" "$floor" "$1"
    server_pid=$started_pid
}
stop_server() { stop_pid "$server_pid"; }

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
# From wrk's output on stdin: requests per second, as wrk measured them over its own run.
wrk_rps() { awk '/^Requests\/sec:/ {printf "%.0f", $2; found = 1} END {if (!found) print 0}'; }
# From the output of wrk --latency on stdin: the 99th percentile latency in microseconds
# (wrk_p50_us: the median).
wrk_p99_us() { wrk_percentile_us 99; }
wrk_p50_us() { wrk_percentile_us 50; }
wrk_percentile_us() {
    awk -v p="$1%" '$1 == p {
            v = $2; unit = v; sub(/^[0-9.]+/, "", unit); v += 0
            if (unit == "ms") v *= 1e3; else if (unit == "s") v *= 1e6
            else if (unit == "m") v *= 6e7; else if (unit == "h") v *= 3.6e9
            printf "%.0f", v; found = 1
         }
         END {if (!found) print "n/a"}'
}

# Resident memory of a process in KiB (VmRSS).
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# TIME_WAIT sockets in the current namespace that match the ss filter $1 (all if none).
time_wait_count() { "${run_in[@]}" ss -Htan state time-wait ${1:+"$1"} | wc -l; }
# Sockets that entered TIME_WAIT in the current namespace since it was made (TcpExt TW and
# TWKilled count entries, both sides together).
# shellcheck disable=SC2016  # the $ are awk's
time_wait_entered() {
    "${run_in[@]}" awk '/^TcpExt:/ && !names {split($0, name); names = 1; next}
        /^TcpExt:/ {for (i = 2; i <= NF; i++) if (name[i] == "TW" || name[i] == "TWKilled") s += $i}
        END {print s + 0}' /proc/net/netstat
}

# The connections an nginx has accepted so far, from its stub_status at 127.0.0.1:PORT (the
# query's own connection included). The query ends with a reset, so it leaves no TIME_WAIT.
nginx_accepts() {
    "${run_in[@]}" python3 -c "import socket, struct
s = socket.create_connection(('127.0.0.1', $1), 2)
s.settimeout(2)
s.sendall(b'GET / HTTP/1.1\r\nHost: status\r\n\r\n')
data = b''
while b'Waiting:' not in data:
    more = s.recv(4096)
    if not more:
        break
    data += more
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
lines = data.split(b'\r\n\r\n', 1)[1].decode().splitlines()
print(lines[lines.index('server accepts handled requests') + 1].split()[0])"
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
# perf_count_wrk PID EVENTS SECONDS PORT [wrk flags...]: runs wrk (output on stdout) while perf
# counts EVENTS (a comma list; globs such as syscalls:sys_enter_* work) for every thread of PID,
# and writes the sum of all the counts into $tmp/perf_sum.
perf_count_wrk() {
    local pid=$1 events=$2
    shift 2
    # With -p and a command, perf counts the process for as long as the command runs.
    taskset -c "$client_cpu" perf stat -x, -o "$tmp/perf.out" -e "$events" -p "$pid" \
        -- "${run_in[@]}" taskset -c "$client_cpu" wrk -t1 -d"${1}s" "${@:3}" \
        "http://127.0.0.1:$2/"
    # "<not counted>" (no thread ran) counts as 0.
    awk -F, '$3 ~ /:/ {s += ($1 ~ /^[0-9]+$/) ? $1 : 0} END {print s + 0}' \
        "$tmp/perf.out" >"$tmp/perf_sum"
}

# Runs wrk (arguments as for run_wrk, output on stdout) while counting the epoll_wait,
# epoll_pwait and epoll_pwait2 calls of every thread of server_pid into $tmp/epoll_calls.
count_epoll_waits() {
    local events
    events=$(IFS=,; echo "${epoll_events[*]}")
    if [ "$epoll_counter" = perf ]; then
        perf_count_wrk "$server_pid" "$events" "$@"
        mv "$tmp/perf_sum" "$tmp/epoll_calls"
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
