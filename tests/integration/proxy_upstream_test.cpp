// `waitless proxy`'s upstream connections: the local port range they take, their closes counted
// at exit, what it learns of a backend's idle timeout and how a request that cannot be
// replayed is kept off a connection that may be closing.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

#include "integration/http_serve_process.hpp"
#include "support/nginx.hpp"
#include "support/process.hpp"
#include "waitless/core/procfs.hpp"
#include "waitless/net/options.hpp"

namespace waitless::test {
namespace {

std::unique_ptr<serve_process> start_proxy(const std::string& upstream, const std::string& args) {
    std::string why;
    auto p = serve_process::start("--workers 1 --upstream " + upstream + " " + args, "", &why,
                                  "127.0.0.1:0", "proxy");
    EXPECT_TRUE(p) << why;
    return p;
}

// The number after `what` in a summary line such as "3 connects" (-1 when absent).
long count_before(const std::string& text, const std::string& what) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("([0-9]+) " + what))) return -1;
    return std::stol(m[1]);
}

raw_client::response one(std::uint16_t port, const std::string& request) {
    raw_client c(port);
    EXPECT_TRUE(c.send(request));
    auto r = c.read_responses(1);
    return r.empty() ? raw_client::response{} : r[0];
}

std::string post(const std::string& body) {
    return "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

TEST(ProxyUpstream, LocalPortRangeHoldsTheUpstreamConnectionsPorts) {
    if (!net::local_port_range_supported()) GTEST_SKIP() << "kernel without IP_LOCAL_PORT_RANGE";
    const auto ns = core::read_sysctl_numbers("net.ipv4.ip_local_port_range");
    ASSERT_TRUE(ns && ns->size() == 2);
    // 100 ports inside the namespace's range (the kernel ignores a bound outside it).
    const long low = (*ns)[0] + 1000 + ::getpid() % 2000;
    const long high = low + 99;
    ASSERT_LE(high, (*ns)[1]);
    std::string why;
    auto backend = serve_process::run(
        "python3 -u '" + std::string(WAITLESS_SOURCE_DIR) + "/tests/integration/proxy_backend.py'",
        "", &why);
    ASSERT_TRUE(backend) << why;
    // One request per upstream connection, so each request shows another connection's port.
    auto proxy = start_proxy("127.0.0.1:" + std::to_string(backend->port()),
                             "--upstream-max-uses 1 --local-port-range " + std::to_string(low) +
                                 "-" + std::to_string(high));
    ASSERT_TRUE(proxy);
    std::set<long> ports;
    for (int i = 0; i < 20; ++i) {
        const auto r = one(proxy->port(), get("/peer"));
        ASSERT_EQ(r.status, 200) << i;
        const long port = std::stol(r.body);
        EXPECT_GE(port, low) << i;
        EXPECT_LE(port, high) << i;
        ports.insert(port);
    }
    EXPECT_GT(ports.size(), 1u) << "every request had its own upstream connection";
    EXPECT_EQ(proxy->terminate(), 0);
    EXPECT_EQ(count_before(proxy->error_text(), "connects"), 20) << proxy->error_text();
    // Nothing to say about a range inside the namespace's on a kernel that has the option.
    EXPECT_EQ(proxy->error_text().find("local-port-range"), std::string::npos)
        << proxy->error_text();
}

TEST(ProxyUpstream, BadLocalPortRangesExit3WithOneLine) {
    for (const std::string value :
         {"''", "5", "5-3", "0-10", "1-65536", "a-b", "10-", "-10", "1-2-3", "1 -2"}) {
        const auto r = run_shell("timeout 10 " + waitless_binary() +
                                 " proxy --upstream 127.0.0.1:1 --listen 127.0.0.1:0 "
                                 "--local-port-range '" +
                                 value + "' </dev/null");
        EXPECT_EQ(r.exit_code, 3) << value;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << value << ": " << r.err;
        EXPECT_TRUE(r.err.starts_with("waitless: error: ")) << value << ": " << r.err;
    }
}

// The pooled connections the proxy resets at exit are counted in its closes line, and the
// backend agrees: no TIME_WAIT on either side.
TEST(ProxyUpstream, PooledConnectionsResetAtExitAreCounted) {
    std::string why;
    auto backend = serve_process::start("--workers 1", "", &why);
    ASSERT_TRUE(backend) << why;
    auto proxy = start_proxy("127.0.0.1:" + std::to_string(backend->port()), "");
    ASSERT_TRUE(proxy);
    // Several clients at once: several upstream connections, all idle in the pool at exit.
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&] {
            raw_client c(proxy->port());
            for (int i = 0; i < 50; ++i) {
                ASSERT_TRUE(c.send(get("/")));
                ASSERT_EQ(c.read_responses(1).size(), 1u);
            }
        });
    }
    for (auto& c : clients) c.join();
    EXPECT_EQ(proxy->terminate(), 0);
    const auto said = proxy->error_text();
    const long connects = count_before(said, "connects");
    EXPECT_GE(connects, 1) << said;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(said, m,
                                  std::regex("upstream side ([0-9]+) TIME_WAIT here, ([0-9]+) "
                                             "TIME_WAIT on the server, ([0-9]+) reset")))
        << said;
    EXPECT_EQ(std::stol(m[1]), 0) << said;
    EXPECT_EQ(std::stol(m[2]), 0) << said;
    EXPECT_EQ(std::stol(m[3]), connects) << said;
    EXPECT_EQ(backend->terminate(), 0);
    const auto backend_said = backend->error_text();
    EXPECT_EQ(count_before(backend_said, "connections"), connects) << backend_said;
    EXPECT_EQ(count_before(backend_said, "TIME_WAIT here"), 0) << backend_said;
    EXPECT_EQ(count_before(backend_said, "TIME_WAIT on the client"), 0) << backend_said;
}

nginx_config nginx_with_keepalive(const std::string& keepalive) {
    nginx_config c;
    c.http_block = "keepalive_timeout " + keepalive + ";\nkeepalive_requests 100000;\n";
    c.server_block = "location / { return 200 \"hello nginx\\n\"; }\n";
    return c;
}

// nginx closes idle connections after 500 ms without saying so: after two such closes the
// proxy knows, and stops reusing connections idle longer than 500 ms minus the margin. The
// margin leaves room for a busy machine: a close seen up to 100 ms late is learned as up to
// 600 ms, and 400 ms of idleness is still past what is then reused (600 - 250).
TEST(ProxyUpstream, LearnsAnUnadvertisedIdleTimeoutAndStopsShortOfIt) {
    WAITLESS_NGINX_OR_SKIP(nginx, nginx_with_keepalive("500ms"));
    auto proxy = start_proxy("127.0.0.1:" + std::to_string(nginx.value().port()),
                             "--keep-alive-margin 250ms");
    ASSERT_TRUE(proxy);
    raw_client c(proxy->port());
    const auto request = [&] {
        EXPECT_TRUE(c.send(get("/")));
        const auto r = c.read_responses(1);
        EXPECT_EQ(r.size(), 1u);
        EXPECT_EQ(r.empty() ? 0 : r[0].status, 200);
    };
    for (int i = 0; i < 3; ++i) {
        request();
        std::this_thread::sleep_for(700ms);  // nginx closes the idle connection meanwhile
    }
    // Learned by now: a connection idle 400 ms (past 500 - 250) is not even probed.
    request();
    std::this_thread::sleep_for(400ms);
    request();
    EXPECT_EQ(proxy->terminate(), 0);
    const auto said = proxy->error_text();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(said, m, std::regex("idle timeout learned ([0-9]+)ms"))) << said;
    // Both ends of an idle time come from the coarse clock, each up to a tick late (4 ms at
    // HZ=250, 10 ms at HZ=100): 496 ms has been seen for nginx's 500.
    EXPECT_GE(std::stol(m[1]), 480) << said;
    EXPECT_LT(std::stol(m[1]), 650) << said;
    EXPECT_NE(said.find("advertised none"), std::string::npos) << said;
    EXPECT_GE(count_before(said, "idle closes"), 3) << said;
    EXPECT_EQ(count_before(said, "past the idle timeout"), 1) << said;
}

// A backend that keeps idle connections long and does not say how long: a POST takes an idle
// connection only within what is known of its timeout, a GET any that the probe finds open.
TEST(ProxyUpstream, APostTakesAnIdleConnectionOnlyWithinWhatIsKnown) {
    WAITLESS_NGINX_OR_SKIP(nginx, nginx_with_keepalive("60s"));
    auto proxy = start_proxy("127.0.0.1:" + std::to_string(nginx.value().port()),
                             "--keep-alive-margin 300ms");
    ASSERT_TRUE(proxy);
    raw_client c(proxy->port());
    const auto request = [&](const std::string& bytes) {
        EXPECT_TRUE(c.send(bytes));
        const auto r = c.read_responses(1);
        EXPECT_EQ(r.size(), 1u);
        EXPECT_EQ(r.empty() ? 0 : r[0].status, 200);
    };
    request(get("/"));
    std::this_thread::sleep_for(600ms);
    request(post("a"));  // idle 600 ms, nothing known: past the margin, a new connection
    std::this_thread::sleep_for(1500ms);
    request(get("/"));  // reused after 1.5 s idle: the backend keeps them at least that long
    std::this_thread::sleep_for(600ms);
    request(post("b"));  // within 1.5 s - 300 ms: reused
    EXPECT_EQ(proxy->terminate(), 0);
    const auto said = proxy->error_text();
    EXPECT_EQ(count_before(said, "too idle to risk"), 1) << said;
    EXPECT_EQ(count_before(said, "connects"), 2) << said;
    EXPECT_NE(said.find("learned none"), std::string::npos) << said;
}

}  // namespace
}  // namespace waitless::test
