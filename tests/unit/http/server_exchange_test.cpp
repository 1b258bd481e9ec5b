// The exchange's rules: misuse is an error value, the server frames responses itself, and the
// timeouts and Keep-Alive field say what the server really does.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "integration/http_serve_process.hpp"
#include "unit/http/running_server.hpp"
#include "waitless/http/error.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/net/listen.hpp"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;
using test::get;
using test::raw_client;

TEST(HttpServerExchange, ASecondResponseIsAnErrorNotACrash) {
    static const prepared_response ok(200, {}, "ok");
    running_server rs([](exchange& ex) -> io::task<void> {
        EXPECT_TRUE(ex.send(ok));
        EXPECT_EQ(ex.send(ok).error(), errc::response_already_started);
        EXPECT_EQ(ex.start(200, {}, 2).error(), errc::response_already_started);
        co_return;
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send(get() + get()));
    const auto r = c.read_responses(2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].body, "ok");
    EXPECT_EQ(r[1].body, "ok");
}

TEST(HttpServerExchange, FieldsThatCouldSplitOrReframeTheResponseAreRefused) {
    running_server rs([](exchange& ex) -> io::task<void> {
        const header_field injected[] = {{"X-Note", "a\r\nSet-Cookie: evil=1"}};
        const header_field with_nul[] = {{"X-Note", std::string_view("a\0b", 3)}};
        const header_field bad_name[] = {{"X-No\nte", "a"}};
        const header_field length[] = {{"Content-Length", "99"}};
        const header_field encoding[] = {{"transfer-encoding", "chunked"}};
        const header_field connection[] = {{"Connection", "keep-alive"}};
        using fields = std::span<const header_field>;
        for (fields f : {fields(injected), fields(with_nul), fields(bad_name), fields(length),
                         fields(encoding), fields(connection)}) {
            EXPECT_EQ(ex.start(200, f, 2).error(), errc::invalid_response_field);
        }
        // Fields a caller vouches for (a proxy's, from the parser) still cannot reframe it.
        for (fields f : {fields(length), fields(encoding), fields(connection)}) {
            EXPECT_EQ(ex.start(200, f, 2, true).error(), errc::invalid_response_field);
        }
        // Nothing was sent: a proper response still can be.
        const header_field fine[] = {{"X-Note", "fine"}};
        EXPECT_TRUE(ex.start(200, fine, 2));
        co_await ex.write("ok");
        ex.end();
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send(get()));
    const auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].header("x-note"), "fine");
    EXPECT_EQ(r[0].header("set-cookie"), "");
    EXPECT_EQ(r[0].body, "ok");
}

// Everything the server sends within `wait` (until it closes, resets or goes quiet).
std::string read_all(raw_client& c, std::chrono::milliseconds wait = 1s) {
    std::string out;
    for (;;) {
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return out;
        char buffer[4096];
        const auto n = ::recv(c.fd(), buffer, sizeof buffer, 0);
        if (n <= 0) return out;
        out.append(buffer, static_cast<std::size_t>(n));
    }
}

TEST(HttpServerExchange, AResponseToHeadKeepsItsLengthAndTheConnection) {
    running_server rs([](exchange& ex) -> io::task<void> {
        if (!ex.start(200, {}, 5)) co_return;
        if (ex.request().method != "HEAD") co_await ex.write("hello");
        ex.end();
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get()));
    const auto bytes = read_all(c, 300ms);
    EXPECT_NE(bytes.find("Content-Length: 5\r\n"), std::string::npos) << bytes;
    // The HEAD response has no body and the connection goes on to answer the GET.
    EXPECT_TRUE(bytes.ends_with("\r\n\r\nhello")) << bytes;
    EXPECT_EQ(bytes.find("HTTP/1.1 200", 1) != std::string::npos, true) << bytes;
}

TEST(HttpServerExchange, AnAbortedChunkedResponseIsNeverEnded) {
    running_server rs([](exchange& ex) -> io::task<void> {
        if (!ex.start(200, {}, std::nullopt)) co_return;
        (void)co_await ex.write("part");
        ex.abort();
        EXPECT_FALSE(co_await ex.write("more"));
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send(get()));
    const auto bytes = read_all(c);
    // What was buffered may be dropped by the reset; what matters is that no end came.
    EXPECT_EQ(bytes.find("0\r\n\r\n"), std::string::npos) << "a cut-off body ended as whole";
}

TEST(HttpServerExchange, TheHandlerSeesThePeerAndLocalAddresses) {
    static const prepared_response ok(200, {}, "ok");
    std::string peer, local;
    std::uint16_t port = 0;
    {
        running_server rs([&](exchange& ex) -> io::task<void> {
            peer = ex.peer() ? ex.peer()->address.to_string() : "none";
            local = ex.local() ? ex.local()->to_string() : "none";
            (void)ex.send(ok);
            co_return;
        });
        port = rs.port;
        raw_client c(rs.port);
        ASSERT_TRUE(c.send(get()));
        ASSERT_EQ(c.read_responses(1).size(), 1u);
    }
    // Read once the server's thread is joined: the response's bytes order the handler's writes
    // before this only through the kernel, which ThreadSanitizer does not see.
    EXPECT_EQ(peer, "127.0.0.1");
    EXPECT_EQ(local, "127.0.0.1:" + std::to_string(port));
}

TEST(HttpServerExchange, HttpTenGetsNo100Continue) {
    running_server rs([](exchange& ex) -> io::task<void> {
        std::string body;
        for (;;) {
            auto piece = co_await ex.read_body();
            if (!piece || piece->empty()) break;
            body += *piece;
        }
        (void)ex.start(200, {}, body.size());
        co_await ex.write(body);
        ex.end();
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
    // An HTTP/1.0 client cannot know 100 Continue: it gets nothing until it sends the body.
    EXPECT_TRUE(c.read_responses(1, 300ms).empty());
    ASSERT_TRUE(c.send("ping"));
    const auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].body, "ping");
}

TEST(HttpServerExchange, ABadChunkedBodyGets400WhenNoResponseWasStarted) {
    running_server rs([](exchange& ex) -> io::task<void> {
        for (;;) {
            auto piece = co_await ex.read_body();
            if (!piece) co_return;  // the server answers for the handler
            if (piece->empty()) break;
        }
        (void)ex.start(200, {}, 0);
        ex.end();
    });
    raw_client c(rs.port);
    ASSERT_TRUE(
        c.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\nzz\r\n"));
    const auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 400);
    EXPECT_EQ(r[0].header("connection"), "close");
}

TEST(HttpServerExchange, KeepAliveIsAdvertisedInWholeSecondsOnly) {
    static const prepared_response ok(200, {}, "ok");
    auto handler = [](exchange& ex) -> io::task<void> {
        (void)ex.send(ok);
        co_return;
    };
    for (const auto& [idle, expected] :
         {std::pair{500ms, ""}, std::pair{1500ms, "timeout=1"}, std::pair{5000ms, "timeout=5"}}) {
        server_options o;
        o.idle_timeout = idle;
        running_server rs(handler, o);
        raw_client c(rs.port);
        ASSERT_TRUE(c.send(get()));
        const auto r = c.read_responses(1);
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0].header("keep-alive"), expected) << idle.count() << " ms";
    }
}

TEST(HttpServerExchange, EmptyLinesDoNotKeepAnIdleConnectionOpen) {
    static const prepared_response ok(200, {}, "ok");
    server_options o;
    o.idle_timeout = 300ms;
    running_server rs(
        [](exchange& ex) -> io::task<void> {
            (void)ex.send(ok);
            co_return;
        },
        o);
    raw_client c(rs.port);
    ASSERT_TRUE(c.send(get()));
    ASSERT_EQ(c.read_responses(1).size(), 1u);
    const auto idle_since = std::chrono::steady_clock::now();
    // RFC 9112 2.2 lets a server skip empty lines before a request; they are not a request,
    // so they must not buy the client more idle time.
    bool closed = false;
    for (int i = 0; i < 20 && !closed; ++i) {
        std::this_thread::sleep_for(50ms);
        if (!c.send("\r\n")) closed = true;
        if (c.next_event(0ms) != -ETIMEDOUT) closed = true;
    }
    EXPECT_TRUE(closed);
    EXPECT_LT(std::chrono::steady_clock::now() - idle_since, 700ms);
}

// A handler that waits on something else (a timer here, an upstream in a proxy) hears through
// on_cancel() that its client went away, or that shutdown's drain timeout cut it.
io::task<void> slow_handler(exchange& ex) {
    io::alarm wait(*io::loop::current());
    ex.on_cancel([&wait] { wait.cancel(); });
    if (co_await wait.wait_for(1h)) (void)ex.start(200, {}, 0);
    EXPECT_TRUE(ex.cancelled());
}

TEST(HttpServerExchange, AClientThatResetsCancelsTheHandler) {
    running_server rs(slow_handler);
    {
        raw_client c(rs.port);
        ASSERT_TRUE(c.send(get()));
        std::this_thread::sleep_for(50ms);
        const linger reset{1, 0};
        ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }  // an RST
    const auto since = std::chrono::steady_clock::now();
    while (rs.s.stats().connections_open > 0 && std::chrono::steady_clock::now() - since < 5s) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(rs.s.stats().connections_open, 0u);
}

TEST(HttpServerExchange, AResponseWhoseLengthIsMetNeedsNoEnd) {
    running_server rs([](exchange& ex) -> io::task<void> {
        (void)ex.start(200, {}, 2);
        co_await ex.write("ok");  // every promised byte: complete without end()
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send(get() + get()));
    const auto r = c.read_responses(2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1].body, "ok");
}

TEST(HttpServerExchange, TheDrainTimeoutEndsAWaitingHandlerAndWaitReturns) {
    server_options o;
    o.drain_timeout = 200ms;
    running_server rs(slow_handler, o);
    raw_client c(rs.port);
    ASSERT_TRUE(c.send(get()));
    std::this_thread::sleep_for(50ms);
    const auto since = std::chrono::steady_clock::now();
    rs.s.stop();
    rs.s.wait();
    EXPECT_LT(std::chrono::steady_clock::now() - since, 3s);
}

TEST(HttpServerExchange, AConnectionWhoseBufferCannotBeHadIsRefusedAndCounted) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "sanitizers abort on an impossible allocation instead of throwing bad_alloc";
#else
    // A read buffer no machine has: every connection's allocation fails. Each is refused and
    // counted, and the worker goes on (it still accepts, and stops cleanly).
    server_options o;
    o.read_buffer = std::size_t{1} << 46;
    running_server rs([](exchange&) -> io::task<void> { co_return; }, o);
    for (int i = 0; i < 3; ++i) {
        raw_client c(rs.port);
        ASSERT_TRUE(c.connected());
        EXPECT_NE(c.next_event(2s), -ETIMEDOUT);  // closed at once, not left hanging
    }
    rs.s.stop();
    rs.s.wait();
    EXPECT_EQ(rs.s.stats().connections_refused, 3u);
    EXPECT_EQ(rs.s.stats().connections_accepted, 0u);
#endif
}

TEST(HttpServerExchange, AFailedStartLeavesNoSocketFileBehind) {
    auto taken = net::listen(net::endpoint::loopback_v4());
    ASSERT_TRUE(taken);
    const auto busy = net::local_endpoint(taken->native_handle())->port;
    const std::string path = "/tmp/waitless-start-" + std::to_string(::getpid()) + ".sock";
    server_options o;
    o.listen = {*listen_address::parse("unix:" + path),
                *listen_address::parse("127.0.0.1:" + std::to_string(busy))};
    o.workers = 2;
    server s(o, [](exchange&) -> io::task<void> { co_return; });
    auto started = s.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error(), std::errc::address_in_use);
    struct stat st {};
    EXPECT_NE(::stat(path.c_str(), &st), 0) << path << " was left behind";
    // A later start with the port free works: nothing was left half-started.
    taken->reset();
    auto again = s.start();
    EXPECT_TRUE(again) << again.error().message();
    s.stop();
    s.wait();
}

}  // namespace
}  // namespace waitless::http
