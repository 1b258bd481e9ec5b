// Messages the parser must accept, each also split at every byte offset.
#include <gtest/gtest.h>

#include "parser_harness.hpp"

namespace waitless::http::test {
namespace {

class ParserValid : public ::testing::TestWithParam<bool> {
  protected:
    harness_options request() const {
        harness_options o;
        o.limits.simd = GetParam();
        return o;
    }
    harness_options response() const {
        auto o = request();
        o.kind = parser_kind::response;
        return o;
    }
};

TEST_P(ParserValid, SimpleGet) {
    const auto out = feed_every_split(
        "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  curl/8 \t\r\n\r\n",
        request());
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 1u);
    const auto& m = out.messages[0];
    EXPECT_EQ(m.method, "GET");
    EXPECT_EQ(m.target, "/index.html?q=1");
    EXPECT_EQ(m.version_minor, 1);
    ASSERT_EQ(m.headers.size(), 2u);
    EXPECT_EQ(m.headers[1].second, "curl/8");  // surrounding whitespace is not the value
    EXPECT_TRUE(m.keep_alive);
    EXPECT_EQ(m.framing, body_framing::none);
    EXPECT_EQ(out.leftover, 0u);
}

TEST_P(ParserValid, ContentLengthBodyAndPipelining) {
    const auto out = feed_every_split(
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        "GET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        "GET /c HTTP/1.0\r\n\r\n",
        request());
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 3u);
    EXPECT_EQ(out.messages[0].body, "hello");
    EXPECT_EQ(out.messages[0].framing, body_framing::content_length);
    EXPECT_EQ(out.messages[1].target, "/b");
    EXPECT_FALSE(out.messages[1].keep_alive);
    EXPECT_EQ(out.messages[2].version_minor, 0);  // HTTP/1.0 needs no Host
    EXPECT_FALSE(out.messages[2].keep_alive);
}

// One Connection field or several, each list read whole: "close" ends HTTP/1.1 keep-alive,
// "keep-alive" makes HTTP/1.0's, wherever it is named.
TEST_P(ParserValid, EveryConnectionFieldDecidesKeepAlive) {
    const auto out = feed_every_split(
        "GET /1 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
        "GET /2 HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n"
        "GET /3 HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nConnection:  CLOSE \r\n\r\n"
        "GET /4 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"
        "GET /5 HTTP/1.0\r\nConnection: x, keep-alive\r\n\r\n"
        "GET /6 HTTP/1.0\r\nConnection: x\r\nConnection: Keep-Alive\r\n\r\n"
        "GET /7 HTTP/1.0\r\nConnection: close\r\n\r\n",
        request());
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 7u);
    const bool expected[] = {false, false, false, true, true, true, false};
    for (std::size_t i = 0; i < 7; ++i) {
        EXPECT_EQ(out.messages[i].keep_alive, expected[i]) << out.messages[i].target;
    }
}

TEST_P(ParserValid, ChunkedWithExtensionsAndTrailers) {
    const auto out = feed_every_split(
        "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        "5;name=value;q=\"a;b\"\r\nhello\r\n"
        "0007\r\n, world\r\n"
        "0\r\nChecksum: abc\r\nX-Done: 1\r\n\r\n",
        request());
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_EQ(out.messages[0].body, "hello, world");
    EXPECT_EQ(out.messages[0].framing, body_framing::chunked);
    ASSERT_EQ(out.messages[0].trailers.size(), 2u);
    EXPECT_EQ(out.messages[0].trailers[0],
              (std::pair<std::string, std::string>{"Checksum", "abc"}));
}

TEST_P(ParserValid, ChunkedWithoutTrailersThenNextRequest) {
    const auto out = feed_every_split(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        request());
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 2u);
    EXPECT_EQ(out.messages[0].body, "abc");
    EXPECT_TRUE(out.messages[0].trailers.empty());
}

TEST_P(ParserValid, LeadingEmptyLinesBeforeARequestAreIgnored) {
    const auto out = feed_every_split("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", request());
    ASSERT_FALSE(out.error) << out.error.message();
    EXPECT_EQ(out.messages.size(), 1u);
}

TEST_P(ParserValid, IncompleteInputWaits) {
    const auto out = feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc", request());
    EXPECT_FALSE(out.error);
    EXPECT_TRUE(out.messages.empty());
    EXPECT_EQ(out.leftover, 0u);  // body bytes are handed out as they come
    const auto head_only = feed("GET / HTTP/1.1\r\nHost: h\r\n", request());
    EXPECT_FALSE(head_only.error);
    EXPECT_EQ(head_only.leftover, 25u);
}

TEST_P(ParserValid, ObsTextAndTabsInValuesAbsoluteAndAsteriskTargets) {
    auto out = feed_every_split("OPTIONS * HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\tok\r\n\r\n",
                                request());
    ASSERT_FALSE(out.error) << out.error.message();
    EXPECT_EQ(out.messages[0].headers[1].second, "caf\xc3\xa9\tok");
    out = feed_every_split("GET http://h:8080/p HTTP/1.1\r\nHost: h:8080\r\n\r\n", request());
    ASSERT_FALSE(out.error) << out.error.message();
    out = feed_every_split("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", request());
    ASSERT_FALSE(out.error) << out.error.message();
    EXPECT_EQ(out.messages[0].target, "[::1]:443");
}

TEST_P(ParserValid, MinorVersionsAboveOneAreServedAsOneOne) {
    const auto out = feed("GET / HTTP/1.7\r\nHost: h\r\n\r\n", request());
    ASSERT_FALSE(out.error) << out.error.message();
    EXPECT_EQ(out.messages[0].version_minor, 1);
}

TEST_P(ParserValid, ResponsesWithEveryFraming) {
    auto out = feed_every_split(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n"
        "HTTP/1.1 304 Not Modified\r\n\r\n"
        "HTTP/1.1 404 \r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n"
        "HTTP/1.0 200 OK\r\n\r\nuntil the end",
        [&] {
            auto o = response();
            o.peer_closes = true;
            return o;
        }());
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 6u);
    EXPECT_EQ(out.messages[0].body, "hi");
    EXPECT_EQ(out.messages[1].status, 100);
    EXPECT_EQ(out.messages[2].framing, body_framing::none);  // 204: no body whatever it says
    EXPECT_EQ(out.messages[3].status, 304);
    EXPECT_EQ(out.messages[4].reason, "");
    EXPECT_EQ(out.messages[4].body, "no");
    EXPECT_EQ(out.messages[5].framing, body_framing::until_close);
    EXPECT_EQ(out.messages[5].body, "until the end");
    EXPECT_FALSE(out.messages[5].keep_alive);
}

TEST_P(ParserValid, ResponseToHeadHasNoBody) {
    auto o = response();
    o.response_to_head = true;
    const auto out =
        feed_every_split("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", o);
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 2u);
    EXPECT_TRUE(out.messages[0].body.empty());
}

TEST_P(ParserValid, ResponseWhoseCodingsDoNotEndInChunkedRunsUntilClose) {
    auto o = response();
    o.peer_closes = true;
    const auto out = feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz", o);
    ASSERT_FALSE(out.error) << out.error.message();
    EXPECT_EQ(out.messages[0].framing, body_framing::until_close);
    EXPECT_EQ(out.messages[0].body, "zzz");
}

TEST_P(ParserValid, FinishInsideAMessageIsAnError) {
    auto o = response();
    o.peer_closes = true;
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", o).error,
              errc::partial_message);
    EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Le", o).error, errc::partial_message);
    EXPECT_FALSE(feed("", o).error);
}

TEST_P(ParserValid, LargestContentLengthFits) {
    const auto out = feed(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999999999999999\r\n\r\n", request());
    EXPECT_FALSE(out.error) << out.error.message();
}

TEST_P(ParserValid, StatusLineWithoutReasonOrItsSpace) {
    // "HTTP/1.1 200" with no SP: RFC 9112 4 wants the SP, but clients accept its absence.
    const auto out = feed_every_split("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nhi", response());
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_EQ(out.messages[0].status, 200);
    EXPECT_EQ(out.messages[0].reason, "");
    EXPECT_EQ(out.messages[0].body, "hi");
    EXPECT_EQ(feed("HTTP/1.1 200x\r\n\r\n", response()).error, errc::bad_status_line);
}

TEST_P(ParserValid, Http10ResponseWithTransferEncodingIsFramedByTheClose) {
    // RFC 9112 6.1: faulty framing, even with a Content-Length: read to the close, then close.
    auto o = response();
    o.peer_closes = true;
    for (const std::string length : {"", "Content-Length: 3\r\n"}) {
        SCOPED_TRACE(length);
        const auto out =
            feed_every_split("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n" + length +
                                 "Connection: keep-alive\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
                             o);
        ASSERT_FALSE(out.error) << out.error.message();
        ASSERT_EQ(out.messages.size(), 1u);
        EXPECT_EQ(out.messages[0].framing, body_framing::until_close);
        EXPECT_FALSE(out.messages[0].keep_alive);
        EXPECT_EQ(out.messages[0].body, "2\r\nhi\r\n0\r\n\r\n");
    }
}

TEST_P(ParserValid, ExpectContinueOnlyInHttp11) {
    // RFC 9110 10.1.1: a server ignores 100-continue in an HTTP/1.0 request.
    const std::string rest = "Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi";
    auto out = feed_every_split("POST / HTTP/1.1\r\nHost: h\r\n" + rest, request());
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_TRUE(out.messages[0].expect_continue);
    out = feed_every_split("POST / HTTP/1.0\r\n" + rest, request());
    ASSERT_FALSE(out.error) << out.error.message();
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_FALSE(out.messages[0].expect_continue);
}

INSTANTIATE_TEST_SUITE_P(ScalarAndSimd, ParserValid, ::testing::Values(false, true),
                         [](const auto& test) { return test.param ? "simd" : "scalar"; });

}  // namespace
}  // namespace waitless::http::test
