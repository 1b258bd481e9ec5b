// `waitless proxy` in front of a real nginx: upstream connections are pooled whatever the
// clients do (nginx's stub_status counts its accepts), and nginx's silent idle close (1 s,
// not advertised) never fails a request.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <regex>
#include <thread>

#include "integration/http_serve_process.hpp"
#include "support/nginx.hpp"

namespace waitless::test {
namespace {

nginx_config backend_config(const std::string& keepalive) {
    nginx_config c;
    c.http_block = "keepalive_timeout " + keepalive + ";";
    c.server_block =
        "location = /status { stub_status; }\n"
        "location / { return 200 \"hello nginx\\n\"; }\n";
    return c;
}

std::unique_ptr<serve_process> start_proxy(std::uint16_t upstream_port, const std::string& args) {
    std::string why;
    auto p = serve_process::start(
        "--workers 1 --upstream 127.0.0.1:" + std::to_string(upstream_port) + " " + args, "", &why,
        "127.0.0.1:0", "proxy");
    EXPECT_TRUE(p) << why;
    return p;
}

long nginx_accepts(std::uint16_t port) {
    raw_client c(port);
    if (!c.send(get("/status", "Connection: close\r\n"))) return -1;
    const auto r = c.read_responses(1);
    if (r.empty()) return -1;
    std::smatch m;
    // "server accepts handled requests\n A H R"
    if (!std::regex_search(r[0].body, m, std::regex("requests\\s+([0-9]+)"))) return -1;
    return std::stol(m[1]);
}

TEST(ProxyNginx, ShortClientConnectionsShareOneUpstreamConnection) {
    WAITLESS_NGINX_OR_SKIP(nginx, backend_config("60s"));
    auto proxy = start_proxy(nginx->port(), "");
    ASSERT_TRUE(proxy);
    const long before = nginx_accepts(nginx->port());
    ASSERT_GE(before, 1);
    for (int i = 0; i < 200; ++i) {
        raw_client c(proxy->port());
        ASSERT_TRUE(c.send(get("/", "Connection: close\r\n")));
        const auto r = c.read_responses(1);
        ASSERT_EQ(r.size(), 1u) << i;
        EXPECT_EQ(r[0].status, 200);
        EXPECT_EQ(r[0].body, "hello nginx\n");
    }
    // One connection from the proxy, one for this status request.
    EXPECT_EQ(nginx_accepts(nginx->port()) - before, 2);
}

// The keep-alive race: nginx closes idle connections after 1 s without saying so; clients
// pause about that long between requests, GETs and POSTs.
TEST(ProxyNginx, IdleCloseRaceFailsNoRequest) {
    WAITLESS_NGINX_OR_SKIP(nginx, backend_config("1s"));
    auto proxy = start_proxy(nginx->port(), "");
    ASSERT_TRUE(proxy);
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::thread> clients;
    const auto until = std::chrono::steady_clock::now() + 6s;
    for (int t = 0; t < 16; ++t) {
        clients.emplace_back([&, t] {
            std::mt19937 random(static_cast<unsigned>(t));
            std::uniform_int_distribution<int> pause(900, 1100);
            raw_client c(proxy->port());
            for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
                const bool post = (i + t) % 2 == 0;
                const std::string request =
                    post ? "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody" : get("/");
                const auto r =
                    c.send(request) ? c.read_responses(1) : decltype(c.read_responses(1)){};
                if (r.size() == 1 && r[0].status == 200) {
                    ++ok;
                } else {
                    ++failed;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(pause(random)));
            }
        });
    }
    for (auto& c : clients) c.join();
    EXPECT_EQ(proxy->terminate(), 0);
    EXPECT_EQ(failed.load(), 0) << ok.load() << " ok; proxy: " << proxy->error_text();
    EXPECT_GT(ok.load(), 50);
    std::printf("%d ok, %d failed; %s", ok.load(), failed.load(), proxy->error_text().c_str());
}

}  // namespace
}  // namespace waitless::test
