// `waitless serve` against real clients: curl, Python's http.client, wrk, and raw sockets for
// pipelining, rejections, timeouts, limits, shutdown, and the TIME_WAIT census in a namespace.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "http_serve_process.hpp"
#include "support/netns.hpp"
#include "support/process.hpp"
#include "waitless/census/census.hpp"

namespace waitless::test {
namespace {

bool have(const std::string& tool) { return run_shell("command -v " + tool).exit_code == 0; }

#define START_SERVE(variable, args)                                  \
    std::string variable##_why;                                      \
    auto variable = serve_process::start(args, "", &variable##_why); \
    ASSERT_TRUE(variable) << variable##_why

TEST(HttpServer, CurlReusesTheKeepAliveConnection) {
    if (!have("curl")) GTEST_SKIP() << "needs curl";
    START_SERVE(server, "--workers 2");
    const auto url = "http://" + server->address() + "/";
    const auto r = run_shell("curl -sv " + url + " " + url);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "hello world\nhello world\n");
    EXPECT_NE(r.err.find("Re-using existing connection"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Keep-Alive: timeout=5"), std::string::npos) << r.err;
}

TEST(HttpServer, PythonHttpClientKeepsOneConnection) {
    if (!have("python3")) GTEST_SKIP() << "needs python3";
    START_SERVE(server, "--workers 1");
    const std::string script =
        "import http.client\n"
        "c = http.client.HTTPConnection('127.0.0.1', " +
        std::to_string(server->port()) +
        ", timeout=5)\n"
        "socks = set()\n"
        "for path in ['/', '/health', '/']:\n"
        "    c.request('GET', path)\n"
        "    r = c.getresponse()\n"
        "    print(r.status, r.read().decode().strip(), r.getheader('Keep-Alive'))\n"
        "    socks.add(id(c.sock))\n"
        "c.request('POST', '/', body=b'x' * 1000)\n"
        "r = c.getresponse(); r.read(); socks.add(id(c.sock))\n"
        "print('connections', len(socks))\n";
    const auto r = run_shell("python3 -c \"" + script + "\"");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "200 hello world timeout=5\n200 ok timeout=5\n200 hello world timeout=5\n"
              "connections 1\n");
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
    START_SERVE(server, "--workers 1 --echo");
    raw_client client(server->port());
    ASSERT_TRUE(client.connected());
    auto post = [](const std::string& body) {
        return "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
    };
    const std::string chunked =
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nthr\r\n2\r\nee\r\n0"
        "\r\n\r\n";
    // All in one write: the server sees them in one read and must answer one by one.
    ASSERT_TRUE(client.send(post("one") + post("two") + get("/health") + chunked + post("")));
    const auto responses = client.read_responses(5);
    ASSERT_EQ(responses.size(), 5u);
    EXPECT_EQ(responses[0].body, "one");
    EXPECT_EQ(responses[1].body, "two");
    EXPECT_EQ(responses[2].body, "ok\n");
    EXPECT_EQ(responses[3].body, "three");
    EXPECT_EQ(responses[3].header("transfer-encoding"), "chunked");
    EXPECT_EQ(responses[4].body, "");
    for (const auto& r : responses) EXPECT_EQ(r.status, 200);
}

// Pipelined requests fill the read buffer (16 KiB by default) so that a POST head ends on its
// last byte: the body that follows still needs room beside the head.
TEST(HttpServer, ABodyHasRoomWhenItsHeadEndsTheReadBuffer) {
    START_SERVE(server, "--workers 1 --echo");
    constexpr std::size_t buffer = 16 * 1024;
    const std::string big_get = get("/", "X-Pad: " + std::string(4000, 'p') + "\r\n");
    for (const std::string framing : {"Content-Length: 5", "Transfer-Encoding: chunked"}) {
        SCOPED_TRACE(framing);
        raw_client client(server->port());
        ASSERT_TRUE(client.connected());
        const std::string gets = big_get + big_get + big_get;
        const std::string start = "POST / HTTP/1.1\r\nHost: t\r\n" + framing + "\r\nX-Pad: ";
        const std::size_t pad = buffer - gets.size() - start.size() - 4;
        const std::string bytes = gets + start + std::string(pad, 'p') + "\r\n\r\n";
        ASSERT_EQ(bytes.size(), buffer);
        ASSERT_TRUE(client.send(bytes));
        ASSERT_EQ(client.read_responses(3).size(), 3u);  // the server has the POST head now
        ASSERT_TRUE(
            client.send(framing.starts_with("Content") ? "hello" : "5\r\nhello\r\n0\r\n\r\n"));
        const auto responses = client.read_responses(1);
        ASSERT_EQ(responses.size(), 1u);
        EXPECT_EQ(responses[0].status, 200);
        EXPECT_EQ(responses[0].body, "hello");
    }
}

// A chunked body the handler leaves unread may be longer than the server drains to keep the
// connection: the response must say Connection: close, so the client's FIN ends it cleanly.
TEST(HttpServer, AnUnreadChunkedBodyIsAnsweredWithClose) {
    START_SERVE(server, "--workers 1 --close-policy peer_first");
    raw_client client(server->port());
    ASSERT_TRUE(client.connected());
    std::string body;
    for (int i = 0; i < 100; ++i) body += "400\r\n" + std::string(1024, 'x') + "\r\n";
    body += "0\r\n\r\n";
    const std::string head = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::thread sender([&] {
        client.send(head + body);
        ::shutdown(client.fd(), SHUT_WR);  // told to close: the client ends its side
    });
    const auto responses = client.read_responses(1);
    sender.join();
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].status, 200);
    EXPECT_EQ(responses[0].header("connection"), "close");
    EXPECT_EQ(responses[0].header("keep-alive"), "");
    EXPECT_EQ(client.next_event(1s), 0);  // peer_first: our FIN came, so the server's follows
}

TEST(HttpServer, EchoStreamsALargeBodyBack) {
    START_SERVE(server, "--workers 1 --echo");
    raw_client client(server->port());
    ASSERT_TRUE(client.connected());
    std::string body(4 << 20, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
    const std::string head =
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    // Send from another thread: the server answers while the body is still coming.
    std::thread sender([&] { client.send(head + body); });
    const auto responses = client.read_responses(1, 20s);
    sender.join();
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].body.size(), body.size());
    EXPECT_TRUE(responses[0].body == body);
}

TEST(HttpServer, WrkRunHasNoErrors) {
    if (!have("wrk")) GTEST_SKIP() << "needs wrk";
    START_SERVE(server, "--workers 2");
    const auto r = run_shell("wrk -t1 -c20 -d1s http://" + server->address() + "/");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("requests in"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("Socket errors"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out;
}

TEST(HttpServer, BadRequestsGetTheirStatusAndTheConnectionCloses) {
    START_SERVE(server, "--workers 1 --peer-close-wait-ms 300");
    const std::string many_headers = [] {
        std::string h;
        for (int i = 0; i < 200; ++i) h += "X-Field-" + std::to_string(i) + ": value\r\n";
        return h;
    }();
    const std::vector<std::pair<std::string, int>> cases = {
        {"GET / HTTP/1.1\r\n\r\n", 400},  // no Host
        {"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
        {"GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
        {"GET / HTTP/1.1\r\nHost: t\r\n" + many_headers + "\r\n", 431},
        {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: br, chunked\r\n\r\n", 501},
    };
    for (const auto& [request, status] : cases) {
        SCOPED_TRACE(request.substr(0, 60));
        raw_client client(server->port());
        ASSERT_TRUE(client.connected());
        ASSERT_TRUE(client.send(request));
        const auto responses = client.read_responses(1);
        ASSERT_EQ(responses.size(), 1u);
        EXPECT_EQ(responses[0].status, status);
        EXPECT_EQ(responses[0].header("connection"), "close");
        // peer_first waits for our FIN; we hold on, so after the wait it resets.
        const int next = client.next_event(3s);
        EXPECT_TRUE(next == 0 || next == -ECONNRESET) << next;
    }
}

// A head whose bytes cannot become valid is answered at once, not at the header timeout.
TEST(HttpServer, ABadHeadPrefixIsRejectedBeforeItsEnd) {
    START_SERVE(server, "--workers 1 --header-timeout 10s --close-policy graceful");
    for (const std::string prefix : {"GET / HTTP/1.1\r\nHost: t\rX",
                                     "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
                                     "Content-Length: 1\r\n",
                                     "GET / HTTP/1.x\r\n", "GET * HTTP/1.1\r\n"}) {
        SCOPED_TRACE(prefix);
        raw_client client(server->port());
        ASSERT_TRUE(client.connected());
        ASSERT_TRUE(client.send(prefix));  // and nothing more
        const auto started = std::chrono::steady_clock::now();
        const auto responses = client.read_responses(1, 3s);
        ASSERT_EQ(responses.size(), 1u);
        EXPECT_EQ(responses[0].status, 400);
        EXPECT_EQ(responses[0].header("connection"), "close");
        EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    }
}

TEST(HttpServer, HeaderTimeoutClosesASlowClient) {
    START_SERVE(server, "--workers 1 --header-timeout 300ms --close-policy graceful");
    raw_client client(server->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHo"));
    const auto started = std::chrono::steady_clock::now();
    const auto responses = client.read_responses(1, 3s);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].status, 408);
    EXPECT_EQ(client.next_event(3s), 0);  // graceful: the server's FIN
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST(HttpServer, IdleConnectionIsResetAfterTheIdleTimeout) {
    START_SERVE(server, "--workers 1 --idle-timeout 300ms");
    raw_client client(server->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send(get()));
    ASSERT_EQ(client.read_responses(1).size(), 1u);
    // Nothing in flight: an RST, so neither side keeps a TIME_WAIT.
    EXPECT_EQ(client.next_event(3s), -ECONNRESET);
}

TEST(HttpServer, MaxRequestsEndsWithConnectionClose) {
    START_SERVE(server, "--workers 1 --max-requests 3");
    raw_client client(server->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send(get() + get() + get() + get()));
    const auto responses = client.read_responses(4, 2s);
    ASSERT_EQ(responses.size(), 3u);  // the fourth request is never answered
    EXPECT_EQ(responses[0].header("connection"), "");
    EXPECT_EQ(responses[1].header("keep-alive"), "timeout=5");
    EXPECT_EQ(responses[2].header("connection"), "close");
}

TEST(HttpServer, Http10WithoutKeepAliveIsAnsweredWithClose) {
    START_SERVE(server, "--workers 1 --close-policy graceful");
    raw_client client(server->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send("GET / HTTP/1.0\r\n\r\n"));
    const auto responses = client.read_responses(1);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].header("connection"), "close");
    EXPECT_EQ(client.next_event(2s), 0);
}

// utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
long cpu_ticks(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "pid (comm) "
    std::string field;
    long user = 0, system = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 14) user = std::stol(field);
        if (i == 15) {
            system = std::stol(field);
            break;
        }
    }
    return user + system;
}

TEST(HttpServer, MaxConnectionsHoldsNewOnesInTheBacklog) {
    START_SERVE(server, "--workers 1 --max-connections 1");
    auto first = std::make_unique<raw_client>(server->port());
    ASSERT_TRUE(first->send(get()));
    ASSERT_EQ(first->read_responses(1).size(), 1u);
    raw_client second(server->port());  // the kernel completes the handshake
    ASSERT_TRUE(second.send(get()));
    // Held, the waiting connection wakes no one: its listener's reports are off (level-
    // triggered, they would come on every turn) and the server sleeps.
    const auto busy_before = cpu_ticks(server->pid());
    EXPECT_EQ(second.read_responses(1, 500ms).size(), 0u);
    const auto busy = cpu_ticks(server->pid()) - busy_before;
    EXPECT_LT(busy, 10) << "clock ticks of CPU in 500 ms at the limit";
    first.reset();  // a slot frees: the second is accepted and answered
    EXPECT_EQ(second.read_responses(1, 3s).size(), 1u);
}

TEST(HttpServer, SigtermLetsTheRequestInFlightFinish) {
    // An idle connection that was accepted: with the default TCP_DEFER_ACCEPT one that has
    // sent nothing waits in the kernel, unknown to the server.
    START_SERVE(server, "--workers 2 --delay-ms 500 --defer-accept 0");
    auto busy = std::make_unique<raw_client>(server->port());
    raw_client idle(server->port());
    ASSERT_TRUE(busy->send(get()));
    std::this_thread::sleep_for(100ms);
    ::kill(server->pid(), SIGTERM);
    const auto responses = busy->read_responses(1, 3s);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(responses[0].status, 200);
    EXPECT_EQ(responses[0].header("connection"), "close");
    EXPECT_EQ(idle.next_event(2s), -ECONNRESET);  // idle: closed at once, by RST
    busy.reset();  // our FIN: the server's peer_first close can finish
    EXPECT_EQ(server->wait_exit(5s), 0) << server->error_text();
}

// Requests that ask to close, census inside a private namespace: under peer_first the server's
// port keeps no TIME_WAIT; every one is on the client's side.
TEST(HttpServer, PeerFirstLeavesTheTimeWaitOnTheClient) {
    WAITLESS_NETNS_OR_SKIP(ns);
    std::string why;
    auto server =
        serve_process::start("--workers 2 --close-policy peer_first", ns->exec_prefix(), &why);
    ASSERT_TRUE(server) << why;
    constexpr int requests = 20;
    census::snapshot snapshot;
    ns->run([&] {
        for (int i = 0; i < requests; ++i) {
            raw_client client(server->port());
            ASSERT_TRUE(client.connected());
            ASSERT_TRUE(client.send(get("/", "Connection: close\r\n")));
            const auto r = client.read_responses(1);
            ASSERT_EQ(r.size(), 1u);
            ASSERT_EQ(r[0].header("connection"), "close");
        }
        for (int i = 0; i < 60; ++i) {
            auto taken = census::take_snapshot();
            ASSERT_TRUE(taken);
            snapshot = *taken;
            if (snapshot.time_wait >= requests) break;
            std::this_thread::sleep_for(50ms);
        }
    });
    EXPECT_EQ(snapshot.time_wait_server, 0u);
    EXPECT_EQ(snapshot.time_wait_client, static_cast<std::uint64_t>(requests));
    for (const auto& l : snapshot.listeners) EXPECT_EQ(l.time_wait, 0u);
}

// The graceful policy is the contrast: the server closes first and keeps the TIME_WAIT.
TEST(HttpServer, GracefulPolicyLeavesTimeWaitOnTheServer) {
    WAITLESS_NETNS_OR_SKIP(ns);
    std::string why;
    auto server =
        serve_process::start("--workers 1 --close-policy graceful", ns->exec_prefix(), &why);
    ASSERT_TRUE(server) << why;
    constexpr int requests = 10;
    census::snapshot snapshot;
    ns->run([&] {
        for (int i = 0; i < requests; ++i) {
            raw_client client(server->port());
            ASSERT_TRUE(client.send(get("/", "Connection: close\r\n")));
            ASSERT_EQ(client.read_responses(1).size(), 1u);
            ASSERT_EQ(client.next_event(2s), 0);  // the server's FIN first
        }
        for (int i = 0; i < 60; ++i) {
            auto taken = census::take_snapshot();
            ASSERT_TRUE(taken);
            snapshot = *taken;
            if (snapshot.time_wait >= requests) break;
            std::this_thread::sleep_for(50ms);
        }
    });
    EXPECT_EQ(snapshot.time_wait_server, static_cast<std::uint64_t>(requests));
    EXPECT_EQ(snapshot.time_wait_client, 0u);
}

// A client that sends more after its Connection: close request: the server does not close at
// once (bytes that come after close() would draw an RST) but reads to the client's FIN, so the
// close stays a FIN and the TIME_WAIT is still the server's.
TEST(HttpServer, GracefulPolicyReadsWhatFollowsALastRequestBeforeItCloses) {
    WAITLESS_NETNS_OR_SKIP(ns);
    std::string why;
    auto server =
        serve_process::start("--workers 1 --close-policy graceful", ns->exec_prefix(), &why);
    ASSERT_TRUE(server) << why;
    census::snapshot snapshot;
    ns->run([&] {
        {
            raw_client client(server->port());
            ASSERT_TRUE(client.send(get("/", "Connection: close\r\n") + "GET /more HTTP/1.1\r\n"));
            ASSERT_EQ(client.read_responses(1).size(), 1u);
            ASSERT_EQ(client.next_event(2s), 0);   // the server's FIN
            (void)client.send("Host: x\r\n\r\n");  // to a closed socket, it would draw an RST
        }  // closed: the client's FIN ends the server's wait
        for (int i = 0; i < 60; ++i) {
            auto taken = census::take_snapshot();
            ASSERT_TRUE(taken);
            snapshot = *taken;
            if (snapshot.time_wait >= 1) break;
            std::this_thread::sleep_for(50ms);
        }
    });
    EXPECT_EQ(snapshot.time_wait_server, 1u);
    EXPECT_EQ(snapshot.time_wait_client, 0u);
}

}  // namespace
}  // namespace waitless::test
