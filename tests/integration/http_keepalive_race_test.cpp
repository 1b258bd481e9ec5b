// The keep-alive race: a pooled connection reused at the moment the server closes it for
// idleness. 10,000 requests in bursts, with pauses just below, at and just above the server's
// idle timeout; not one may fail. Against waitless serve (which advertises its timeout) and
// nginx (which does not, so only the stale check and the retry can save a request).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "http_serve_process.hpp"
#include "support/nginx.hpp"
#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

// Coroutine lambdas take what they use as parameters (a capture would dangle once the lambda
// object is gone), named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;

constexpr int total_requests = 10'000;
constexpr int workers = 8;  // concurrent requests: 8 pooled connections race at each pause
constexpr int bursts = 25;  // 400 requests each
// Around the 1 s idle timeout, below and above it, on a millisecond grid: where the server's
// close and the client's next request meet.
constexpr std::chrono::milliseconds pauses[] = {960ms,  990ms,  995ms,  998ms,  999ms, 1000ms,
                                                1001ms, 1002ms, 1005ms, 1010ms, 1040ms};

struct race_result {
    int ok = 0;
    int failed = 0;
    std::string first_error;
    client_stats stats;
};

io::task<void> one_worker(client& c, const std::string& url, race_result& result, int& started,
                          int per_burst, int& done) {
    while (started < per_burst) {
        ++started;
        client_request request;
        request.url = url;
        auto response = co_await c.request(request);
        if (response && response->status == 200) {
            ++result.ok;
        } else {
            ++result.failed;
            if (result.first_error.empty()) {
                result.first_error = response ? "status " + std::to_string(response->status)
                                              : response.error().message();
            }
        }
    }
    ++done;
}

// Bursts of requests from `workers` coroutines, each burst followed by a pause around 1 s.
race_result race(const std::string& url, client_options options) {
    io::loop& l = io::thread_loop();
    client c(l, options);
    race_result result;
    io::block_on(
        [](io::loop& l, client& c, const std::string& url, race_result& result) -> io::task<void> {
            for (int burst = 0; burst < bursts; ++burst) {
                int started = 0;
                int done = 0;
                const int per_burst = total_requests / bursts;
                for (int w = 0; w < workers; ++w) {
                    io::spawn(one_worker(c, url, result, started, per_burst, done));
                }
                while (done < workers) co_await l.sleep_for(1ms);
                co_await l.sleep_for(pauses[burst % std::size(pauses)]);
            }
        }(l, c, url, result));
    result.stats = c.stats();
    const auto& st = result.stats;
    std::printf("ok %d failed %d reused %llu keep_alive_expired %llu stale %llu retries %llu\n",
                result.ok, result.failed, static_cast<unsigned long long>(st.reused),
                static_cast<unsigned long long>(st.keep_alive_expired),
                static_cast<unsigned long long>(st.stale),
                static_cast<unsigned long long>(st.retries));
    return result;
}

TEST(KeepAliveRace, AgainstWaitlessServeWithNoMarginNoRequestFails) {
    std::string why;
    auto server = test::serve_process::start("--workers 1 --idle-timeout 1s", "", &why);
    ASSERT_TRUE(server) << why;
    client_options options;
    options.keep_alive_margin = 0ms;  // reuse right up to the advertised timeout=1
    const auto r = race("http://127.0.0.1:" + std::to_string(server->port()) + "/", options);
    EXPECT_EQ(r.failed, 0) << r.first_error;
    EXPECT_EQ(r.ok, total_requests);
    // The pauses did expire connections: either the client saw the advertised timeout pass,
    // or found them closed, or lost the race and replayed.
    EXPECT_GT(r.stats.keep_alive_expired + r.stats.stale + r.stats.retries, 0u);
    EXPECT_GT(r.stats.reused, static_cast<std::uint64_t>(total_requests / 2));
}

TEST(KeepAliveRace, AgainstNginxThatDoesNotAdvertiseItsTimeoutNoRequestFails) {
    test::nginx_config config;
    config.http_block = "keepalive_timeout 1s;\nkeepalive_requests 100000;\n";
    config.server_block = "location / { return 200 \"hello world\\n\"; }\n";
    WAITLESS_NGINX_OR_SKIP(nginx, config);
    client_options options;
    options.idle_timeout = 2s;  // the client would keep connections longer than nginx does
    const auto r = race(nginx->base_url() + "/", options);
    EXPECT_EQ(r.failed, 0) << r.first_error << "\n" << nginx->error_log();
    EXPECT_EQ(r.ok, total_requests);
    // nginx closed idle connections under the client at every pause longer than 1 s.
    EXPECT_GT(r.stats.stale + r.stats.retries, 0u);
}

}  // namespace
}  // namespace waitless::http
