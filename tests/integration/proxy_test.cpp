// `waitless proxy` end to end: real backends (`waitless serve`, a Python backend that records
// what it receives), real clients (raw sockets, curl), each in its own process, kernel ports.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "integration/http_serve_process.hpp"
#include "support/process.hpp"

namespace waitless::test {
namespace {

std::unique_ptr<serve_process> python_backend(const std::string& log = "") {
    std::string why;
    auto p = serve_process::run("python3 -u '" + std::string(WAITLESS_SOURCE_DIR) +
                                    "/tests/integration/proxy_backend.py'" +
                                    (log.empty() ? "" : " --log " + log),
                                "", &why);
    EXPECT_TRUE(p) << why;
    return p;
}

std::unique_ptr<serve_process> serve_backend(const std::string& args = "",
                                             const std::string& listen = "127.0.0.1:0") {
    std::string why;
    auto p = serve_process::start("--workers 1 " + args, "", &why, listen);
    EXPECT_TRUE(p) << why;
    return p;
}

std::unique_ptr<serve_process> start_proxy(const std::string& upstreams,
                                           const std::string& args = "") {
    std::string why;
    auto p = serve_process::start("--workers 1 --upstream " + upstreams + " " + args, "", &why,
                                  "127.0.0.1:0", "proxy");
    EXPECT_TRUE(p) << why;
    return p;
}

std::string upstream(const serve_process& backend) {
    return "127.0.0.1:" + std::to_string(backend.port());
}

raw_client::response one(std::uint16_t port, const std::string& request) {
    raw_client c(port);
    EXPECT_TRUE(c.connected());
    EXPECT_TRUE(c.send(request));
    auto r = c.read_responses(1);
    return r.empty() ? raw_client::response{} : r[0];
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// The number after `what` in a summary line such as "3 connections".
long count_before(const std::string& text, const std::string& what) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("([0-9]+) " + what))) return -1;
    return std::stol(m[1]);
}

TEST(Proxy, GetAndPostAreRelayedInOrder) {
    auto backend = serve_backend("--echo");
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(upstream(*backend));
    ASSERT_TRUE(proxy);
    raw_client c(proxy->port());
    ASSERT_TRUE(c.connected());
    // Pipelined: a GET, a POST with a body, a HEAD; answered in order on one connection.
    ASSERT_TRUE(c.send(get("/a") +
                       "POST /b HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello proxy" +
                       "HEAD /c HTTP/1.1\r\nHost: test\r\n\r\n" + get("/d")));
    const auto r = c.read_responses(4);
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].body, "");
    EXPECT_EQ(r[1].status, 200);
    EXPECT_EQ(r[1].body, "hello proxy");
    EXPECT_EQ(r[2].status, 200);
    EXPECT_EQ(r[3].status, 200);
    EXPECT_EQ(proxy->terminate(), 0);
    EXPECT_NE(proxy->error_text().find("4 requests"), std::string::npos) << proxy->error_text();
}

TEST(Proxy, HopByHopFieldsAreRemovedAndForwardingFieldsAdded) {
    auto backend = python_backend();
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(upstream(*backend));
    ASSERT_TRUE(proxy);
    const auto r = one(proxy->port(),
                       "GET http://test/echo?x=1 HTTP/1.1\r\nHost: test\r\n"
                       "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 300\r\n"
                       "TE: trailers\r\nUpgrade: websocket\r\nProxy-Authorization: Basic eA==\r\n"
                       "X-Forwarded-For: 10.1.1.1\r\nX-Keep: kept\r\n\r\n");
    ASSERT_EQ(r.status, 200);
    const std::string& seen = r.body;
    EXPECT_NE(seen.find("GET /echo?x=1 HTTP/1.1\n"), std::string::npos) << seen;
    EXPECT_NE(seen.find("Host: test\n"), std::string::npos) << seen;
    EXPECT_NE(seen.find("X-Keep: kept\n"), std::string::npos) << seen;
    EXPECT_NE(seen.find("X-Forwarded-For: 10.1.1.1, 127.0.0.1\n"), std::string::npos) << seen;
    EXPECT_NE(seen.find("X-Forwarded-Proto: http\n"), std::string::npos) << seen;
    EXPECT_NE(seen.find("Forwarded: for=127.0.0.1;proto=http\n"), std::string::npos) << seen;
    for (const char* gone : {"X-Secret", "Keep-Alive", "TE:", "Upgrade", "Proxy-", "Connection"}) {
        EXPECT_EQ(seen.find(gone), std::string::npos) << gone << " reached the backend: " << seen;
    }
    // The backend's own hop-by-hop fields stay on its side too.
    EXPECT_EQ(r.header("x-backend-hop"), "");
    EXPECT_EQ(r.header("connection").find("X-Backend-Hop"), std::string::npos);
}

TEST(Proxy, TenMebibyteBodiesBothWaysAreByteExact) {
    auto backend = python_backend();
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(upstream(*backend));
    ASSERT_TRUE(proxy);
    const std::string file = "/tmp/waitless-proxy-body-" + std::to_string(::getpid());
    ASSERT_EQ(run_shell("head -c 10485760 /dev/urandom > " + file).exit_code, 0);
    const auto expected = trimmed(run_shell("sha256sum " + file + " | cut -c1-64").out);
    const std::string at = "http://127.0.0.1:" + std::to_string(proxy->port());
    const std::string direct = "http://" + upstream(*backend);
    for (const std::string framing : {"", " -H 'Transfer-Encoding: chunked'"}) {
        const auto up =
            run_shell("curl -sS --fail --data-binary @" + file + framing + " " + at + "/sha");
        EXPECT_EQ(up.exit_code, 0) << up.err;
        EXPECT_EQ(trimmed(up.out), expected) << "upload" << framing;
    }
    for (const std::string chunked : {"0", "1"}) {
        const std::string target = "/big?n=10485760&chunked=" + chunked;
        const auto through = run_shell("curl -sS --fail '" + at + target + "' | sha256sum");
        const auto straight = run_shell("curl -sS --fail '" + direct + target + "' | sha256sum");
        EXPECT_EQ(through.exit_code, 0) << through.err;
        EXPECT_EQ(through.out, straight.out) << "download chunked=" << chunked;
    }
    ::unlink(file.c_str());
}

TEST(Proxy, OneRequestPerClientConnectionStillReusesUpstreamConnections) {
    auto backend = serve_backend("--max-requests 0");
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(upstream(*backend));
    ASSERT_TRUE(proxy);
    constexpr int clients = 100;
    for (int i = 0; i < clients; ++i) {
        const auto r = one(proxy->port(), get("/", "Connection: close\r\n"));
        ASSERT_EQ(r.status, 200) << i;
        EXPECT_EQ(r.body, "hello world\n");
    }
    EXPECT_EQ(proxy->terminate(), 0);
    EXPECT_EQ(backend->terminate(), 0);
    const auto proxy_said = proxy->error_text();
    const auto backend_said = backend->error_text();
    EXPECT_EQ(count_before(proxy_said, "client connections"), clients) << proxy_said;
    EXPECT_EQ(count_before(backend_said, "requests"), clients) << backend_said;
    // Sequential clients: one upstream connection carries them all.
    EXPECT_EQ(count_before(backend_said, "connections"), 1) << backend_said;
    EXPECT_EQ(count_before(proxy_said, "connects"), 1) << proxy_said;
}

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    (void)::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    (void)::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
    ::close(fd);
    return ntohs(a.sin_port);
}

TEST(Proxy, BackendDownGives503UntilItComes) {
    const std::uint16_t port = free_port();
    auto proxy = start_proxy("127.0.0.1:" + std::to_string(port), "--ejection-time 200ms");
    ASSERT_TRUE(proxy) << "an unreachable upstream at start is no error";
    for (int i = 0; i < 5; ++i) {
        const auto r = one(proxy->port(), get());
        EXPECT_EQ(r.status, 503) << i;
        EXPECT_FALSE(r.header("retry-after").empty());
    }
    auto backend = serve_backend("", "127.0.0.1:" + std::to_string(port));
    ASSERT_TRUE(backend);
    int status = 0;
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (status != 200 && std::chrono::steady_clock::now() < give_up) {
        status = one(proxy->port(), get()).status;
        if (status != 200) std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(status, 200);
    // A second backend takes the load while the first is down.
    backend.reset();  // SIGKILL: connections reset, listener gone
    auto second = serve_backend("--body-size 7");
    ASSERT_TRUE(second);
    auto both = start_proxy("127.0.0.1:" + std::to_string(port) + "," + upstream(*second));
    ASSERT_TRUE(both);
    for (int i = 0; i < 10; ++i) {
        const auto r = one(both->port(), get());
        EXPECT_EQ(r.status, 200) << i;
        EXPECT_EQ(r.body, "hello w") << i;
    }
}

TEST(Proxy, AClientThatLeavesEndsTheUpstreamExchange) {
    auto backend = serve_backend("--delay-ms 5000");
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(upstream(*backend));
    ASSERT_TRUE(proxy);
    const auto began = std::chrono::steady_clock::now();
    {
        raw_client c(proxy->port());
        ASSERT_TRUE(c.send(get("/slow")));
        std::this_thread::sleep_for(200ms);
    }  // gone while the proxy waits for the response head
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(proxy->terminate(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - began, 3s) << "the drain waited for the backend";
    const auto said = proxy->error_text();
    EXPECT_NE(said.find("1 clients gone"), std::string::npos) << said;
    EXPECT_EQ(backend->terminate(), 0);
    // The half-used upstream connection was reset, not pooled.
    EXPECT_NE(backend->error_text().find("1 reset"), std::string::npos) << backend->error_text();
}

// A backend killed and restarted under load: the other takes the load meanwhile, and no
// request fails, neither for the dead listener nor for the pooled connections it left.
TEST(Proxy, ABackendKilledAndRestartedUnderLoadFailsNoRequest) {
    auto first = serve_backend("--body-size 5");
    auto second = serve_backend("--body-size 6");
    ASSERT_TRUE(first && second);
    const std::string first_listen = "127.0.0.1:" + std::to_string(first->port());
    auto proxy = start_proxy(first_listen + "," + upstream(*second), "--ejection-time 200ms");
    ASSERT_TRUE(proxy);
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t) {
        clients.emplace_back([&] {
            std::unique_ptr<raw_client> c;
            while (!stop) {
                if (!c) c = std::make_unique<raw_client>(proxy->port());
                const auto r =
                    c->send(get()) ? c->read_responses(1) : std::vector<raw_client::response>{};
                if (r.size() == 1 && r[0].status == 200) {
                    ++ok;
                } else {
                    ++failed;
                    c.reset();
                }
            }
        });
    }
    std::this_thread::sleep_for(700ms);
    first.reset();  // SIGKILL: its connections reset, its listener gone
    std::this_thread::sleep_for(1s);
    const int while_down = ok.load();
    first = serve_backend("--body-size 5", first_listen);
    ASSERT_TRUE(first);
    // Ejections in a row double (200, 400, 800 ms, ...): the restarted one is tried again
    // within a few seconds.
    std::this_thread::sleep_for(3s);
    stop = true;
    for (auto& c : clients) c.join();
    EXPECT_EQ(proxy->terminate(), 0) << proxy->error_text();
    EXPECT_EQ(failed.load(), 0) << ok.load() << " ok; " << proxy->error_text();
    EXPECT_GT(while_down, 100);
    EXPECT_EQ(first->terminate(), 0);
    // The restarted backend got its share again.
    const auto said = first->error_text();
    EXPECT_GT(count_before(said, "requests"), 0) << said;
}

TEST(Proxy, HostileRequestsGet4xxAndNothingReachesTheBackend) {
    const std::string log = "/tmp/waitless-proxy-log-" + std::to_string(::getpid());
    ::unlink(log.c_str());
    auto backend = python_backend(log);
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(upstream(*backend), "--max-body-size 100");
    ASSERT_TRUE(proxy);
    const struct {
        const char* request;
        int status;
    } cases[] = {
        {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
        {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
         "0\r\n\r\n",
         400},
        {"GET / HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: t\r\n folded: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
        {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413},
        {"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501},
    };
    for (const auto& c : cases) {
        const auto r = one(proxy->port(), c.request);
        EXPECT_EQ(r.status, c.status) << c.request;
    }
    EXPECT_EQ(one(proxy->port(), get("/fine")).status, 200);
    std::ifstream in(log);
    std::stringstream seen;
    seen << in.rdbuf();
    EXPECT_EQ(seen.str(), "GET /fine\n");
    ::unlink(log.c_str());
}

TEST(Proxy, AHostileBackendGets502AndNeverReachesAnotherClient) {
    std::string why;
    auto backend = serve_process::run("python3 -u '" + std::string(WAITLESS_SOURCE_DIR) +
                                          "/tests/integration/proxy_hostile_backend.py'",
                                      "", &why);
    ASSERT_TRUE(backend) << why;
    auto proxy = start_proxy(upstream(*backend));
    ASSERT_TRUE(proxy);
    for (const char* path : {"/conflict", "/garbage", "/close"}) {
        const auto r = one(proxy->port(), get(path));
        EXPECT_EQ(r.status, 502) << path;
    }
    // Extra bytes after a response: that connection is not reused, so the bytes meant to
    // poison the next exchange reach nobody.
    raw_client c(proxy->port());
    for (const char* path : {"/extra", "/", "/", "/extra", "/"}) {
        ASSERT_TRUE(c.send(get(path)));
        const auto r = c.read_responses(1);
        ASSERT_EQ(r.size(), 1u) << path;
        EXPECT_EQ(r[0].status, 200) << path;
        EXPECT_EQ(r[0].body, "ok\n") << path;
    }
}

TEST(Proxy, ASlowBackendGets504) {
    auto backend = serve_backend("--delay-ms 3000");
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(upstream(*backend), "--upstream-header-timeout 300ms");
    ASSERT_TRUE(proxy);
    const auto r = one(proxy->port(), get());
    EXPECT_EQ(r.status, 504);
    EXPECT_EQ(r.body, "upstream server timed out\n");
}

// The keep-alive race with a backend that advertises its idle timeout (Keep-Alive: timeout=1)
// and clients pausing about that long between requests, GETs and POSTs.
TEST(Proxy, AdvertisedIdleTimeoutRaceFailsNoRequest) {
    auto backend = serve_backend("--idle-timeout 1s --echo");
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(upstream(*backend));
    ASSERT_TRUE(proxy);
    std::atomic<int> ok{0}, failed{0};
    std::vector<std::thread> clients;
    const auto until = std::chrono::steady_clock::now() + 5s;
    for (int t = 0; t < 12; ++t) {
        clients.emplace_back([&, t] {
            raw_client c(proxy->port());
            for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
                const bool post = (i + t) % 2 == 0;
                const std::string request =
                    post ? "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody" : get("/");
                const auto r =
                    c.send(request) ? c.read_responses(1) : std::vector<raw_client::response>{};
                if (r.size() == 1 && r[0].status == 200 && r[0].body == (post ? "body" : "")) {
                    ++ok;
                } else {
                    ++failed;
                }
                std::this_thread::sleep_for(
                    std::chrono::milliseconds(900 + (i * 37 + t * 53) % 200));
            }
        });
    }
    for (auto& c : clients) c.join();
    EXPECT_EQ(proxy->terminate(), 0);
    EXPECT_EQ(failed.load(), 0) << ok.load() << " ok; " << proxy->error_text();
    EXPECT_GT(ok.load(), 40);
}

long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    }
    return -1;
}

TEST(Proxy, ASlowReaderKeepsTheProxysMemoryBounded) {
    constexpr std::size_t size = 64u << 20;
    auto backend = serve_backend("--body-size " + std::to_string(size));
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(upstream(*backend));
    ASSERT_TRUE(proxy);
    const long before = rss_kib(proxy->pid());
    raw_client c(proxy->port());
    ASSERT_TRUE(c.send(get()));
    std::this_thread::sleep_for(1s);  // reads nothing: the socket buffers fill, then it waits
    const long during = rss_kib(proxy->pid());
    EXPECT_LT(during - before, 8 * 1024) << "KiB grown while the client read nothing";
    std::printf("proxy RSS %ld KiB before, %ld KiB with 64 MiB waiting upstream\n", before, during);
    const auto r = c.read_responses(1, 30s);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].body.size(), size);
}

// least_request counts a request until its response is relayed whole: while one backend
// streams a large body to a client that does not read, every short request goes to the other.
TEST(Proxy, LeastRequestCountsAResponseUntilItsBodyIsRelayed) {
    const auto log_a = "/tmp/waitless-least-a-" + std::to_string(::getpid());
    const auto log_b = "/tmp/waitless-least-b-" + std::to_string(::getpid());
    auto a = python_backend(log_a);
    auto b = python_backend(log_b);
    ASSERT_TRUE(a && b);
    auto proxy = start_proxy(upstream(*a) + "," + upstream(*b), "--balance least_request");
    ASSERT_TRUE(proxy);
    raw_client slow(proxy->port());
    // Ties go round robin's way: the first request goes to the first server.
    ASSERT_TRUE(slow.send(get("/big?n=67108864")));
    // Its head relayed (a few bytes read here, then no more): its body waits on this client.
    std::string head;
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (head.find("\r\n\r\n") == std::string::npos &&
           std::chrono::steady_clock::now() < give_up) {
        char buffer[512];
        const auto n = ::recv(slow.fd(), buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) head.append(buffer, static_cast<std::size_t>(n));
        if (n == 0) break;
        if (n < 0) std::this_thread::sleep_for(10ms);
    }
    ASSERT_NE(head.find("\r\n\r\n"), std::string::npos) << head;
    for (int i = 0; i < 4; ++i) {
        const auto r = one(proxy->port(), get("/short"));
        EXPECT_EQ(r.status, 200);
    }
    const auto lines = [](const std::string& path) {
        std::ifstream in(path);
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    };
    EXPECT_EQ(lines(log_a), std::vector<std::string>{"GET /big?n=67108864"});
    EXPECT_EQ(lines(log_b), std::vector<std::string>(4, "GET /short"));
    ::unlink(log_a.c_str());
    ::unlink(log_b.c_str());
}

TEST(Proxy, BadFlagsAndBusyAddressesExit3WithOneLine) {
    for (const std::string args :
         {"proxy --listen 127.0.0.1:0", "proxy --upstream nonsense",
          "proxy --upstream h:1 "
          "--balance random",
          "proxy --upstream h:1 --listen 1.2.3:4", "proxy --upstream h:1 --source x"}) {
        const auto r = run_shell(waitless_binary() + " " + args + " </dev/null");
        EXPECT_EQ(r.exit_code, 3) << args;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    }
    // A port held by a listener without SO_REUSEPORT.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length), 0);
    const auto r =
        run_shell(waitless_binary() + " proxy --upstream 127.0.0.1:1 --listen 127.0.0.1:" +
                  std::to_string(ntohs(a.sin_port)));
    ::close(fd);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("cannot listen"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace waitless::test
