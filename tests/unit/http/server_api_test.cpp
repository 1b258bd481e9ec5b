// The server's library face in-process: streamed and chunked responses, HEAD, 100-continue,
// handlers that fail or forget to answer, and the stats.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>
#include <thread>

#include "integration/http_serve_process.hpp"
#include "unit/http/running_server.hpp"
#include "waitless/http/server.hpp"

namespace waitless::http {
namespace {

using test::get;
using test::raw_client;

TEST(HttpServerApi, StreamedResponsesAreChunkedWithoutALength) {
    running_server rs([](exchange& ex) -> io::task<void> {
        (void)ex.start(200, {}, std::nullopt);
        co_await ex.write("abc");
        co_await ex.write("");
        co_await ex.write("defg");
        ex.end();
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send(get() + get()));
    const auto r = c.read_responses(2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].header("transfer-encoding"), "chunked");
    EXPECT_EQ(r[0].body, "abcdefg");
    EXPECT_EQ(r[1].body, "abcdefg");
}

TEST(HttpServerApi, HeadGetsTheLengthButNoBody) {
    static const prepared_response hello(200, {}, "hello");
    running_server rs([](exchange& ex) -> io::task<void> {
        (void)ex.send(hello);
        co_return;
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get()));
    // The client's parser is not told about HEAD, so it takes 5 bytes of the next response as
    // the body: proof that the server sent none.
    const auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].header("content-length"), "5");
    EXPECT_EQ(r[0].body, "HTTP/");
}

TEST(HttpServerApi, ExpectContinueIsAnsweredWhenTheBodyIsRead) {
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
    ASSERT_TRUE(
        c.send("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: "
               "4\r\n\r\n"));
    auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 100);
    ASSERT_TRUE(c.send("ping"));
    r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].body, "ping");
}

TEST(HttpServerApi, AHandlerThatDoesNotAnswerGets500AndOneThatThrowsToo) {
    running_server rs([](exchange& ex) -> io::task<void> {
        if (ex.request().target == "/throw") throw std::runtime_error("bug");
        co_return;
    });
    for (const auto* target : {"/", "/throw"}) {
        raw_client c(rs.port);
        ASSERT_TRUE(c.send(get(target)));
        const auto r = c.read_responses(1);
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0].status, 500);
        EXPECT_EQ(r[0].header("connection"), "close");
    }
}

TEST(HttpServerApi, AShortBodyCutsTheConnection) {
    running_server rs([](exchange& ex) -> io::task<void> {
        (void)ex.start(200, {}, 10);
        co_await ex.write("short");
        ex.end();
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send(get()));
    EXPECT_TRUE(c.read_responses(1, std::chrono::seconds(2)).empty());
}

TEST(HttpServerApi, AChunkedResponseCutByABadBodyIsResetNotEnded) {
    running_server rs([](exchange& ex) -> io::task<void> {
        (void)ex.start(200, {}, std::nullopt);
        for (;;) {
            auto piece = co_await ex.read_body();
            if (!piece) co_return;  // gives up without end(): the server must not end it
            if (piece->empty()) break;
            co_await ex.write(*piece);
        }
        if (ex.request().target == "/forget") co_return;  // no error: ended for the handler
        ex.end();
    });
    const std::string chunked = "Host: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    {
        raw_client c(rs.port);
        ASSERT_TRUE(c.send("POST / HTTP/1.1\r\n" + chunked + "3\r\nabc\r\nzz\r\n"));
        // Not a 200 with an empty last chunk: nothing went out, so the RST is all there is.
        EXPECT_EQ(c.next_event(std::chrono::seconds(2)), -ECONNRESET);
    }
    raw_client c(rs.port);
    ASSERT_TRUE(c.send("POST /forget HTTP/1.1\r\n" + chunked + "3\r\nabc\r\n0\r\n\r\n"));
    const auto r = c.read_responses(1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].body, "abc");
}

// A loopback listener under auto (or any under abortive) hands SO_LINGER {1, 0} to the
// sockets it accepts, so that a reset costs no setsockopt(); a response delimited by the close
// must still end with a FIN, or the client could not tell it from a cut.
class HttpServerLingerReset : public ::testing::TestWithParam<server_close_policy> {};

TEST_P(HttpServerLingerReset, AResponseDelimitedByTheCloseStillEndsWithAFin) {
    server_options o;
    o.close_policy = GetParam();
    running_server rs(
        [](exchange& ex) -> io::task<void> {
            (void)ex.start(200, {}, std::nullopt);  // HTTP/1.0: delimited by the close
            co_await ex.write("until the close");
            ex.end();
        },
        o);
    raw_client c(rs.port);
    ASSERT_TRUE(c.send("GET / HTTP/1.0\r\n\r\n"));
    int last = 0;
    while ((last = c.next_event(std::chrono::seconds(2))) > 0) {
    }
    EXPECT_EQ(last, 0) << "not a FIN: " << (last < 0 ? std::strerror(-last) : "");
    // This client keeps its end open past the server's wait for it (peer_close_wait): the
    // server's close() then leaves its socket to finish alone, without an RST after the FIN.
    // (An RST would move this end from CLOSE_WAIT to CLOSE; recv() after the FIN cannot say.)
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    tcp_info info{};
    socklen_t size = sizeof info;
    ASSERT_EQ(::getsockopt(c.fd(), IPPROTO_TCP, TCP_INFO, &info, &size), 0);
    EXPECT_EQ(info.tcpi_state, TCP_CLOSE_WAIT) << "an RST came after the FIN";
}

INSTANTIATE_TEST_SUITE_P(Policies, HttpServerLingerReset,
                         ::testing::Values(server_close_policy::automatic,
                                           server_close_policy::abortive));

TEST(HttpServerApi, StatsCountRequestsAndCloses) {
    static const prepared_response ok(200, {}, "ok");
    running_server rs([](exchange& ex) -> io::task<void> {
        (void)ex.send(ok);
        co_return;
    });
    {
        raw_client c(rs.port);
        ASSERT_TRUE(c.send(get() + get() + get("/", "Connection: close\r\n")));
        ASSERT_EQ(c.read_responses(3).size(), 3u);
    }  // our FIN: the server's peer_first close sees it
    rs.s.stop();
    rs.s.wait();
    const auto stats = rs.s.stats();
    EXPECT_EQ(stats.requests, 3u);
    EXPECT_EQ(stats.connections_accepted, 1u);
    EXPECT_EQ(stats.connections_open, 0u);
    EXPECT_EQ(stats.closed_time_wait_peer + stats.closed_reset, 1u);
    EXPECT_EQ(stats.closed_time_wait_here, 0u);
}

TEST(HttpServerApi, ListenAddressesParse) {
    EXPECT_EQ(listen_address::parse("127.0.0.1:0")->to_string(), "127.0.0.1:0");
    EXPECT_EQ(listen_address::parse("[::1]:80")->to_string(), "[::1]:80");
    EXPECT_EQ(listen_address::parse("*:8080")->to_string(), "0.0.0.0:8080");
    EXPECT_EQ(listen_address::parse("localhost:1")->to_string(), "127.0.0.1:1");
    EXPECT_EQ(listen_address::parse("unix:/tmp/s")->to_string(), "unix:/tmp/s");
    for (const char* bad : {"", "127.0.0.1", "1.2.3.4:65536", "::1:80", "unix:", "a:1", "1:x"}) {
        EXPECT_FALSE(listen_address::parse(bad)) << bad;
    }
}

}  // namespace
}  // namespace waitless::http
