#!/usr/bin/env bash
# The HTTP/1.1 client next to undici (node), keep-alive, 50 concurrent GETs against one nginx
# that answers `hello world\n` (12 bytes). nginx is pinned to CPU 1, each client to CPU 0; both
# clients run the same fixed count of requests, in the same run. Prints `name: value` lines.
# WAITLESS_BUILD: build directory to use (default build/release, made with --preset release).
# REQUESTS (default 200000), CONCURRENCY (default 50), ROUNDS (default 3: median of each side).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${WAITLESS_BUILD:-$root/build/release}
requests=${REQUESTS:-200000}
concurrency=${CONCURRENCY:-50}
rounds=${ROUNDS:-3}
undici_version=7.16.0  # engines: node >= 20.18.1 (npm view undici@7.16.0 engines)

if [[ ! -f $build/CMakeCache.txt ]]; then
    (cd "$root" && cmake --preset release -B "$build" >/dev/null)
fi
cmake --build "$build" --target http_client_bench -j2 >/dev/null
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
nginx_pid=
cleanup() {
    if [[ -n $nginx_pid ]]; then
        kill "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A free port: bind 0, read it back, close; nginx retries with another if it was taken.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
for attempt in 1 2 3 4 5; do
    port=$(free_port)
    mkdir -p "$work/logs"
    cat >"$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $work/logs/error.log warn;
pid $work/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$port;
        location / { return 200 "hello world\n"; }
    }
}
CONF
    taskset -c 1 "$nginx_bin" -p "$work" -c "$work/nginx.conf" &
    nginx_pid=$!
    for _ in $(seq 100); do
        if curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1; then break; fi
        if ! kill -0 "$nginx_pid" 2>/dev/null; then break; fi
        sleep 0.05
    done
    if kill -0 "$nginx_pid" 2>/dev/null && curl -fs "http://127.0.0.1:$port/" >/dev/null; then
        break
    fi
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=
done
if [[ -z $nginx_pid ]]; then
    echo "nginx did not start: $(cat "$work/logs/error.log" 2>/dev/null)" >&2
    exit 1
fi
url="http://127.0.0.1:$port/"

(cd "$work" && npm install --silent --no-audit --no-fund "undici@$undici_version" >/dev/null)
cat >"$work/load.mjs" <<'JS'
import { Pool } from 'undici';
const [url, total, concurrency, warmup] =
    [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const origin = new URL(url).origin;
const path = new URL(url).pathname;
const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
async function run(n) {
    let started = 0, errors = 0;
    async function worker() {
        while (started < n) {
            started++;
            try {
                const { statusCode, body } = await pool.request({ path, method: 'GET' });
                const text = await body.text();
                if (statusCode !== 200 || text.length !== 12) errors++;
            } catch (e) {
                errors++;
            }
        }
    }
    await Promise.all(Array.from({ length: concurrency }, worker));
    return errors;
}
let errors = await run(warmup);
const t0 = process.hrtime.bigint();
errors += await run(total);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`undici_requests_per_s: ${(total / seconds).toFixed(0)}`);
console.log(`undici_seconds: ${seconds.toFixed(3)}`);
console.log(`undici_errors: ${errors}`);
await pool.close();
JS

ours=()
theirs=()
for round in $(seq "$rounds"); do
    out=$(taskset -c 0 "$build/bin/http_client_bench" --url "$url" --requests "$requests" \
        --concurrency "$concurrency" --warmup 5000)
    echo "$out" | sed "s/^/round${round}_/"
    ours+=("$(echo "$out" | awk '/^client_requests_per_s:/ {print $2}')")
    out=$(cd "$work" && taskset -c 0 node load.mjs "$url" "$requests" "$concurrency" 5000)
    echo "$out" | sed "s/^/round${round}_/"
    theirs+=("$(echo "$out" | awk '/^undici_requests_per_s:/ {print $2}')")
done

python3 - "${ours[*]}" "${theirs[*]}" "$requests" "$concurrency" "$undici_version" <<'PY'
import statistics, sys
ours = [float(x) for x in sys.argv[1].split()]
theirs = [float(x) for x in sys.argv[2].split()]
a, b = statistics.median(ours), statistics.median(theirs)
print(f"requests_per_round: {sys.argv[3]}")
print(f"concurrency: {sys.argv[4]}")
print(f"undici_version: {sys.argv[5]}")
print(f"client_requests_per_s_median: {a:.0f}")
print(f"undici_requests_per_s_median: {b:.0f}")
print(f"client_vs_undici: {a / b:.2f}x")
PY
