// Load tool for the HTTP/1.1 client: N keep-alive GETs, C at a time, on one event loop (one
// thread, so `taskset -c 0` pins it). Prints `name: value` lines. A plain main(): no Google
// Benchmark loop, since the figure is requests per second over a fixed count.
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

namespace {

struct settings {
    std::string url;
    long requests = 200000;
    long warmup = 5000;
    int concurrency = 50;
};

struct shared_run {
    const settings& s;
    waitless::http::client& c;
    long total;
    long started = 0;
    long errors = 0;
    int done = 0;
    std::coroutine_handle<> waiting;  // all(), until the last requester ends
    std::string first_error;
};

waitless::io::task<void> requester(shared_run& run) {
    waitless::http::client_request r;
    r.url = run.s.url;
    while (run.started < run.total) {
        ++run.started;
        auto resp = co_await run.c.request(r);
        if (!resp || resp->status != 200 || resp->body.size() != 12) {
            if (run.first_error.empty())
                run.first_error =
                    resp ? "status " + std::to_string(resp->status) : resp.error().message();
            ++run.errors;
        }
    }
    if (++run.done == run.s.concurrency && run.waiting) {
        waitless::io::thread_loop().schedule(run.waiting);
    }
}

waitless::io::task<void> all(shared_run& run) {
    for (int k = 0; k < run.s.concurrency; ++k) waitless::io::spawn(requester(run));
    struct last_one {
        shared_run& run;
        bool await_ready() const noexcept { return run.done == run.s.concurrency; }
        void await_suspend(std::coroutine_handle<> h) noexcept { run.waiting = h; }
        void await_resume() const noexcept {}
    };
    co_await last_one{run};
}

// Runs `total` requests with `concurrency` coroutines sharing a counter; returns the errors.
long run(waitless::http::client& c, const settings& s, long total) {
    shared_run run{s, c, total, 0, 0, 0, {}, {}};
    waitless::io::block_on(all(run));
    if (!run.first_error.empty())
        std::fprintf(stderr, "first error: %s\n", run.first_error.c_str());
    return run.errors;
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        if (flag == "--url") s.url = argv[i + 1];
        if (flag == "--requests") s.requests = std::atol(argv[i + 1]);
        if (flag == "--concurrency") s.concurrency = std::atoi(argv[i + 1]);
        if (flag == "--warmup") s.warmup = std::atol(argv[i + 1]);
    }
    if (s.url.empty() || s.requests <= 0 || s.concurrency <= 0) {
        std::fprintf(stderr,
                     "usage: http_client_bench --url http://127.0.0.1:PORT/ [--requests N] "
                     "[--concurrency C] [--warmup N]\n");
        return 2;
    }
    waitless::http::client_options o;
    o.max_connections_per_origin = static_cast<std::size_t>(s.concurrency);
    waitless::http::client c(waitless::io::thread_loop(), o);
    long errors = run(c, s, s.warmup);
    const auto t0 = std::chrono::steady_clock::now();
    errors += run(c, s, s.requests);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto st = c.stats();
    std::printf("client_requests: %ld\n", s.requests);
    std::printf("client_concurrency: %d\n", s.concurrency);
    std::printf("client_seconds: %.3f\n", seconds);
    std::printf("client_requests_per_s: %.0f\n", static_cast<double>(s.requests) / seconds);
    std::printf("client_errors: %ld\n", errors);
    std::printf("client_connections_opened: %llu\n",
                static_cast<unsigned long long>(st.requests - st.reused));
    std::printf("client_retries: %llu\n", static_cast<unsigned long long>(st.retries));
    return errors == 0 ? 0 : 1;
}
