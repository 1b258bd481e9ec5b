// `waitless proxy` and the HTTP features beyond one request and one response: WebSocket
// tunnels (a Python WebSocket server and client, standard library only, both in their own
// processes), 1xx interim responses and trailer fields, relayed both ways.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "integration/http_serve_process.hpp"
#include "support/process.hpp"
#include "waitless/http/parser.hpp"

namespace waitless::test {
namespace {

const std::string scripts = std::string(WAITLESS_SOURCE_DIR) + "/tests/integration/";

std::unique_ptr<serve_process> upgrade_backend(const std::string& log) {
    std::string why;
    auto p = serve_process::run("python3 -u '" + scripts + "proxy_upgrade_backend.py' --log " + log,
                                "", &why);
    EXPECT_TRUE(p) << why;
    return p;
}

std::unique_ptr<serve_process> start_proxy(const serve_process& backend,
                                           const std::string& args = "") {
    std::string why;
    auto p = serve_process::start(
        "--workers 1 --upstream 127.0.0.1:" + std::to_string(backend.port()) + " " + args, "", &why,
        "127.0.0.1:0", "proxy");
    EXPECT_TRUE(p) << why;
    return p;
}

std::string log_path(const char* what) {
    const std::string path =
        "/tmp/waitless-proxy-" + std::string(what) + "-" + std::to_string(::getpid());
    ::unlink(path.c_str());
    return path;
}

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// The backend's client port of the connection that carried `request` ("GET /ws"), or "".
std::string port_of(const std::vector<std::string>& log, const std::string& request) {
    for (const auto& line : log) {
        const auto space = line.find(' ');
        if (line.substr(space + 1) == request) return line.substr(0, space);
    }
    return "";
}

long count_before(const std::string& text, const std::string& what) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("([0-9]+) " + what))) return -1;
    return std::stol(m[1]);
}

// One response read whole with the project's parser, its trailer fields too; `raw` gets the
// bytes as they came.
struct full_response {
    std::vector<int> statuses;  // interim ones first
    std::string body;
    std::vector<std::pair<std::string, std::string>> trailers;
    std::string raw;
};

full_response read_until_final(int fd, std::chrono::milliseconds wait = 5s) {
    full_response out;
    http::parser p(http::parser_kind::response);
    std::string pending;
    const auto give_up = std::chrono::steady_clock::now() + wait;
    for (;;) {
        for (;;) {
            auto step = p.parse(pending);
            if (!step) return out;
            // Views point into `pending`: taken before its bytes go.
            if (step->what == http::parser::event::head) out.statuses.push_back(p.head().status);
            if (step->what == http::parser::event::body) out.body += step->body;
            if (step->what == http::parser::event::end) {
                for (const auto& f : p.trailers()) out.trailers.emplace_back(f.name, f.value);
            }
            pending.erase(0, step->consumed);
            if (step->what == http::parser::event::end && out.statuses.back() >= 200) return out;
            if (step->what == http::parser::event::need_more) break;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            give_up - std::chrono::steady_clock::now());
        pollfd pf{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&pf, 1, static_cast<int>(left.count())) != 1) return out;
        char buffer[65536];
        const auto n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return out;
        pending.append(buffer, static_cast<std::size_t>(n));
        out.raw.append(buffer, static_cast<std::size_t>(n));
    }
}

TEST(ProxyUpgrade, WebSocketFramesGoBothWaysThroughATunnelOfItsOwn) {
    const auto log = log_path("ws-log");
    auto backend = upgrade_backend(log);
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(*backend);
    ASSERT_TRUE(proxy);
    const std::string at = "http://127.0.0.1:" + std::to_string(proxy->port());
    EXPECT_EQ(run_shell("curl -sS --fail " + at + "/before").out, "plain\n");
    // The client's first frame goes in the same write as its handshake: it reaches the backend
    // through the tunnel, after the 101.
    const auto ws = run_shell("timeout 20 python3 '" + scripts + "ws_client.py' " +
                              std::to_string(proxy->port()) + " first second 'third one'");
    EXPECT_EQ(ws.exit_code, 0) << ws.out << ws.err;
    EXPECT_NE(ws.out.find("got: echo: first\ngot: echo: second\ngot: echo: third one\n"),
              std::string::npos)
        << ws.out;
    EXPECT_EQ(run_shell("curl -sS --fail " + at + "/after").out, "plain\n");
    EXPECT_EQ(proxy->terminate(), 0);
    const auto said = proxy->error_text();
    EXPECT_EQ(count_before(said, "tunnels"), 1) << said;
    // The pool opened one connection, for the plain requests; the tunnel's was not its.
    EXPECT_EQ(count_before(said, "connects"), 1) << said;
    const auto seen = lines_of(log);
    const auto plain = port_of(seen, "GET /before");
    const auto tunnel = port_of(seen, "GET /ws");
    ASSERT_FALSE(plain.empty());
    ASSERT_FALSE(tunnel.empty());
    EXPECT_NE(plain, tunnel) << "the tunnel took the pooled connection";
    EXPECT_EQ(port_of(seen, "GET /after"), plain) << "the pooled connection was not reused";
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "open " + tunnel), 1);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "close " + tunnel), 1);
    ::unlink(log.c_str());
}

TEST(ProxyUpgrade, ARefusedUpgradeIsRelayedAndItsConnectionIsNotPooled) {
    const auto log = log_path("refuse-log");
    auto backend = upgrade_backend(log);
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(*backend);
    ASSERT_TRUE(proxy);
    raw_client c(proxy->port());
    ASSERT_TRUE(c.send(get("/refuse", "Upgrade: websocket\r\nConnection: Upgrade\r\n")));
    auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 403);
    EXPECT_EQ(r[0].body, "no upgrade here\n");
    EXPECT_EQ(r[0].header("upgrade"), "") << "Upgrade without a 101 is hop-by-hop";
    // The client connection goes on with plain requests.
    ASSERT_TRUE(c.send(get("/next")));
    r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].body, "plain\n");
    // A 101 to a request that did not ask for one is the backend's error.
    ASSERT_TRUE(c.send(get("/sneaky101")));
    r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 502);
    // Upgrade with a body, or from HTTP/1.0: a plain request, Upgrade dropped (RFC 9110 7.8).
    raw_client ten(proxy->port());
    ASSERT_TRUE(ten.send("GET /ten HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"));
    r = ten.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(proxy->terminate(), 0);
    const auto said = proxy->error_text();
    EXPECT_EQ(count_before(said, "tunnels"), 0) << said;
    const auto seen = lines_of(log);
    const auto refused = port_of(seen, "GET /refuse");
    ASSERT_FALSE(refused.empty());
    EXPECT_NE(port_of(seen, "GET /next"), refused);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), "close " + refused), 1)
        << "the refused upgrade's connection stayed open";
    ::unlink(log.c_str());
}

long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    }
    return -1;
}

const std::string sink_handshake = get("/ws-sink", "Upgrade: websocket\r\nConnection: upgrade\r\n");

TEST(ProxyUpgrade, ATunnelToASideThatDoesNotReadHoldsTheWriterBackAndEndsWhenIdle) {
    const auto log = log_path("sink-log");
    auto backend = upgrade_backend(log);
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(*backend, "--client-idle-timeout 1500ms");
    ASSERT_TRUE(proxy);
    raw_client c(proxy->port());
    ASSERT_TRUE(c.send(sink_handshake));
    const auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    ASSERT_EQ(r[0].status, 101);
    const long before = rss_kib(proxy->pid());
    // Writes until the socket takes no more: the proxy reads only what the backend takes.
    const std::string piece(64 * 1024, 'x');
    std::size_t sent = 0;
    while (sent < (256u << 20)) {
        pollfd pf{c.fd(), POLLOUT, 0};
        if (::poll(&pf, 1, 300) != 1) break;  // blocked: everything on the way is full
        const auto n = ::send(c.fd(), piece.data(), piece.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    const long during = rss_kib(proxy->pid());
    EXPECT_LT(sent, 64u << 20) << "the proxy took everything it was sent";
    EXPECT_LT(during - before, 4 * 1024) << "KiB grown while the backend read nothing";
    std::printf("tunnel: %zu bytes sent before the writer was held back; proxy RSS +%ld KiB\n",
                sent, during - before);
    // Nothing moves now: past the idle timeout the tunnel ends with an RST each way.
    const auto began = std::chrono::steady_clock::now();
    int event = 0;
    while ((event = c.next_event(3s)) > 0) {
    }
    EXPECT_EQ(event, -ECONNRESET);
    EXPECT_LT(std::chrono::steady_clock::now() - began, 3s);
    ::unlink(log.c_str());
}

TEST(ProxyInterim, EarlyHintsGoToHttp11ClientsOnly) {
    const auto log = log_path("hints-log");
    auto backend = upgrade_backend(log);
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(*backend);
    ASSERT_TRUE(proxy);
    raw_client c(proxy->port());
    ASSERT_TRUE(c.send(get("/hints")));
    const auto r = c.read_responses(2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].status, 103);
    EXPECT_EQ(r[0].header("link"), "</style.css>; rel=preload");
    EXPECT_EQ(r[1].status, 200);
    EXPECT_EQ(r[1].body, "hinted\n");
    raw_client ten(proxy->port());
    ASSERT_TRUE(ten.send("GET /hints HTTP/1.0\r\nHost: t\r\n\r\n"));
    const auto answer = read_until_final(ten.fd());
    EXPECT_EQ(answer.statuses, std::vector<int>{200}) << answer.raw;
    EXPECT_EQ(answer.body, "hinted\n");
    ::unlink(log.c_str());
}

TEST(ProxyInterim, TheBackendsContinueIsRelayedBeforeTheBodyIsSent) {
    const auto log = log_path("continue-log");
    auto backend = upgrade_backend(log);
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(*backend);
    ASSERT_TRUE(proxy);
    // A raw client that sends its body only after the 100, which must be the backend's.
    raw_client c(proxy->port());
    ASSERT_TRUE(
        c.send("POST /continue HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
               "Content-Length: 5\r\n\r\n"));
    auto r = c.read_responses(1, 3s);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 100);
    EXPECT_EQ(r[0].header("x-interim"), "backend");
    ASSERT_TRUE(c.send("hello"));
    r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].body, "5 bytes\n");
    // curl, which waits up to a second for the 100 before it sends anyway.
    const auto began = std::chrono::steady_clock::now();
    const auto curl = run_shell(
        "curl -sS -v -H 'Expect: 100-continue' --data-binary hello-curl http://127.0.0.1:" +
        std::to_string(proxy->port()) + "/continue");
    EXPECT_LT(std::chrono::steady_clock::now() - began, 900ms) << "curl waited for the 100";
    EXPECT_EQ(curl.out, "10 bytes\n") << curl.err;
    EXPECT_NE(curl.err.find("< HTTP/1.1 100 Continue"), std::string::npos) << curl.err;
    EXPECT_NE(curl.err.find("< X-Interim: backend"), std::string::npos) << curl.err;
    ::unlink(log.c_str());
}

TEST(ProxyTrailers, TrailerFieldsAreRelayedBothWaysWithoutForbiddenOnes) {
    const auto log = log_path("trailers-log");
    auto backend = upgrade_backend(log);
    ASSERT_TRUE(backend);
    auto proxy = start_proxy(*backend);
    ASSERT_TRUE(proxy);
    raw_client c(proxy->port());
    ASSERT_TRUE(c.send(get("/trailers")));
    const auto down = read_until_final(c.fd());
    ASSERT_EQ(down.statuses, std::vector<int>{200}) << down.raw;
    EXPECT_EQ(down.body, "hello world");
    using field = std::pair<std::string, std::string>;
    EXPECT_EQ(down.trailers, (std::vector<field>{{"X-Checksum", "abc123"}, {"X-Other", "kept"}}))
        << down.raw;
    EXPECT_NE(down.raw.find("Trailer: X-Checksum\r\n"), std::string::npos) << down.raw;
    // A chunked request's trailers go upstream, minus those that may not be trailers.
    ASSERT_TRUE(
        c.send("POST /trailers-in HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n0\r\nX-Req-Sum: 42\r\nHost: evil\r\nContent-Type: x/y\r\n\r\n"));
    const auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].body, "X-Req-Sum: 42\n");
    // curl sees them too.
    const auto curl =
        run_shell("curl -sS --raw http://127.0.0.1:" + std::to_string(proxy->port()) + "/trailers");
    EXPECT_NE(curl.out.find("0\r\nX-Checksum: abc123\r\nX-Other: kept\r\n\r\n"), std::string::npos)
        << curl.out;
    ::unlink(log.c_str());
}

}  // namespace
}  // namespace waitless::test
