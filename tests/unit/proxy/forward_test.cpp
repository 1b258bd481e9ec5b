// The proxy's field rewriting and error classification, without sockets.
#include "proxy/forward.hpp"

#include <gtest/gtest.h>

#include <string>

#include "waitless/http/client_error.hpp"
#include "waitless/http/parser.hpp"
#include "waitless/net/error.hpp"
#include "waitless/pool/error.hpp"

namespace waitless::proxy::detail {
namespace {

// Parses a request head; the text must outlive the parser (views point into it).
struct parsed {
    explicit parsed(std::string t) : text(std::move(t)) {
        auto step = p.parse(text);
        EXPECT_TRUE(step.has_value());
        EXPECT_EQ(step->what, http::parser::event::head);
    }
    const http::message_head& head() const { return p.head(); }
    std::string text;
    http::parser p{http::parser_kind::request};
};

std::string joined(const request_fields& f) {
    std::string out;
    for (const auto& h : f.fields) out += std::string(h.name) + ": " + std::string(h.value) + "\n";
    return out;
}

TEST(ProxyForward, OriginTargetOfEachForm) {
    parsed origin("GET /a/b?c=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(origin_target(origin.head()), "/a/b?c=1");
    parsed absolute("GET http://example.com:81/p?q HTTP/1.1\r\nHost: example.com:81\r\n\r\n");
    EXPECT_EQ(origin_target(absolute.head()), "/p?q");
    parsed bare("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
    EXPECT_EQ(origin_target(bare.head()), "/");
}

TEST(ProxyForward, HopByHopFieldsAreRemovedAndForwardingFieldsAdded) {
    parsed r(
        "POST /u HTTP/1.1\r\nHost: site\r\nConnection: keep-alive, X-Secret\r\n"
        "Keep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: h2c\r\n"
        "Proxy-Authorization: basic x\r\nProxy-Connection: keep-alive\r\nX-Secret: 1\r\n"
        "Expect: 100-continue\r\nContent-Length: 3\r\nX-Forwarded-For: 10.0.0.1\r\n"
        "X-Forwarded-For: 10.0.0.2\r\nX-Forwarded-Proto: https\r\nForwarded: for=10.0.0.1\r\n"
        "Accept: */*\r\n\r\n");
    options o;
    request_fields f;
    build_request_fields(r.head(), "192.0.2.7", o, f);
    // Trailer announces trailer fields, which are relayed; Expect: 100-continue waits for the
    // backend's 100, which is relayed too.
    EXPECT_EQ(joined(f),
              "Host: site\nTrailer: X-T\nExpect: 100-continue\nAccept: */*\n"
              "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 192.0.2.7\n"
              "X-Forwarded-Proto: http\nForwarded: for=10.0.0.1, for=192.0.2.7;proto=http\n");
}

TEST(ProxyForward, ExpectGoesUpstreamOnlyAsA100ContinueForABody) {
    options o;
    o.x_forwarded_for = o.x_forwarded_proto = o.forwarded = false;
    request_fields f;
    build_request_fields(parsed("GET / HTTP/1.1\r\nHost: s\r\nExpect: 100-continue\r\n\r\n").head(),
                         "", o, f);
    EXPECT_EQ(joined(f), "Host: s\n");
    build_request_fields(parsed("PUT / HTTP/1.1\r\nHost: s\r\nExpect: something\r\n"
                                "Content-Length: 1\r\n\r\n")
                             .head(),
                         "", o, f);
    EXPECT_EQ(joined(f), "Host: s\n");
    build_request_fields(parsed("PUT / HTTP/1.0\r\nHost: s\r\nExpect: 100-continue\r\n"
                                "Content-Length: 1\r\n\r\n")
                             .head(),
                         "", o, f);
    EXPECT_EQ(joined(f), "Host: s\n");
}

TEST(ProxyForward, OnlyABodilessHttp11GetWithUpgradeAndConnectionUpgradeIsATunnel) {
    const std::string ws = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    EXPECT_TRUE(asks_to_upgrade(parsed("GET /ws HTTP/1.1\r\nHost: s\r\n" + ws + "\r\n").head()));
    EXPECT_TRUE(asks_to_upgrade(
        parsed("GET /ws HTTP/1.1\r\nHost: s\r\nUpgrade: h2c\r\nConnection: x, upgrade\r\n\r\n")
            .head()));
    EXPECT_FALSE(asks_to_upgrade(parsed("GET /ws HTTP/1.0\r\nHost: s\r\n" + ws + "\r\n").head()));
    EXPECT_FALSE(asks_to_upgrade(
        parsed("POST /ws HTTP/1.1\r\nHost: s\r\n" + ws + "Content-Length: 2\r\n\r\nab").head()));
    EXPECT_FALSE(asks_to_upgrade(
        parsed("GET /ws HTTP/1.1\r\nHost: s\r\nUpgrade: websocket\r\n\r\n").head()));
    EXPECT_FALSE(asks_to_upgrade(
        parsed("GET /ws HTTP/1.1\r\nHost: s\r\nConnection: upgrade\r\n\r\n").head()));

    parsed r("GET /ws HTTP/1.1\r\nHost: s\r\n" + ws + "Sec-WebSocket-Key: k\r\n\r\n");
    options o;
    o.x_forwarded_for = o.x_forwarded_proto = o.forwarded = false;
    request_fields f;
    build_request_fields(r.head(), "", o, f, true);
    EXPECT_EQ(joined(f),
              "Host: s\nUpgrade: websocket\nSec-WebSocket-Key: k\nConnection: upgrade\n");
    build_request_fields(r.head(), "", o, f, false);
    EXPECT_EQ(joined(f), "Host: s\nSec-WebSocket-Key: k\n");
}

TEST(ProxyForward, TrailersLoseFieldsThatMayNotBeTrailers) {
    const http::header_field head[] = {{"Connection", "X-Hop"}, {"Trailer", "X-Sum"}};
    const http::header_field in[] = {{"X-Sum", "abc"},
                                     {"Content-Length", "3"},
                                     {"Transfer-Encoding", "chunked"},
                                     {"Host", "evil"},
                                     {"X-Hop", "1"},
                                     {"Set-Cookie", "a=1"},
                                     {"Keep-Alive", "timeout=1"},
                                     {"Grpc-Status", "0"}};
    std::vector<http::header_field> out;
    build_trailer_fields(in, head, out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].name, "X-Sum");
    EXPECT_EQ(out[1].name, "Grpc-Status");
}

TEST(ProxyForward, ForwardingFieldsCanBeTurnedOff) {
    parsed r("GET / HTTP/1.1\r\nHost: site\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n");
    options o;
    o.x_forwarded_for = o.x_forwarded_proto = o.forwarded = false;
    request_fields f;
    build_request_fields(r.head(), "192.0.2.7", o, f);
    EXPECT_EQ(joined(f), "Host: site\nX-Forwarded-For: 10.0.0.1\n");
}

TEST(ProxyForward, Ipv6AndUnixClientsInForwarded) {
    parsed r("GET / HTTP/1.1\r\nHost: site\r\n\r\n");
    options o;
    o.x_forwarded_proto = false;
    request_fields f;
    build_request_fields(r.head(), "2001:db8::1", o, f);
    EXPECT_EQ(joined(f),
              "Host: site\nX-Forwarded-For: 2001:db8::1\nForwarded: for=\"[2001:db8::1]\";"
              "proto=http\n");
    build_request_fields(r.head(), "", o, f);
    EXPECT_EQ(joined(f), "Host: site\nForwarded: for=unknown;proto=http\n");
}

TEST(ProxyForward, AbsoluteFormTargetSetsHost) {
    // The parser refuses a Host that names another authority; an HTTP/1.0 request may have none.
    parsed r("GET http://origin.example:8080/x HTTP/1.0\r\n\r\n");
    options o;
    o.x_forwarded_for = o.x_forwarded_proto = o.forwarded = false;
    request_fields f;
    build_request_fields(r.head(), "192.0.2.7", o, f);
    EXPECT_EQ(joined(f), "Host: origin.example:8080\n");
}

TEST(ProxyForward, ResponseFieldsLoseHopByHopAndDate) {
    const http::header_field in[] = {{"Server", "up"},
                                     {"Date", "Mon, 01 Jan 2024 00:00:00 GMT"},
                                     {"Connection", "close, X-Hop"},
                                     {"X-Hop", "1"},
                                     {"Keep-Alive", "timeout=5"},
                                     {"Transfer-Encoding", "chunked"},
                                     {"Content-Length", "3"},
                                     {"Proxy-Authenticate", "x"},
                                     {"Set-Cookie", "a=1"}};
    std::vector<http::header_field> out;
    build_response_fields(in, out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].name, "Server");
    EXPECT_EQ(out[1].name, "Set-Cookie");
}

TEST(ProxyForward, ConnectionFieldsCountOnlyWhenTheyNameMoreThanTheAlwaysHopByHopOnes) {
    const auto relayed = [](std::span<const http::header_field> in) {
        std::vector<http::header_field> out;
        build_response_fields(in, out);
        std::string names;
        for (const auto& f : out) names += std::string(f.name) + ";";
        return names;
    };
    // The usual "keep-alive" names nothing that is not dropped anyway.
    const http::header_field usual[] = {
        {"Server", "up"}, {"Connection", "keep-alive , Upgrade,TE"}, {"X-A", "1"}};
    EXPECT_EQ(relayed(usual), "Server;X-A;");
    EXPECT_TRUE(hop_by_hop("Keep-Alive", {}));
    // A second Connection field that names a field of its own.
    const http::header_field more[] = {
        {"Connection", "keep-alive"}, {"X-A", "1"}, {"connection", "x-a"}, {"X-B", "2"}};
    EXPECT_EQ(relayed(more), "X-B;");
    EXPECT_TRUE(hop_by_hop("X-A", more));
    EXPECT_FALSE(hop_by_hop("X-B", more));
    // "close" is taken as a name too (a field called Close would not cross).
    const http::header_field close[] = {{"Connection", "close"}, {"Close", "1"}};
    EXPECT_EQ(relayed(close), "");
    EXPECT_TRUE(hop_by_hop("Close", close));
    const http::header_field none[] = {{"Server", "up"}};
    EXPECT_EQ(relayed(none), "Server;");
}

// A Connection field that names more is found in the one pass over the fields; the fields it
// names go, also those before it, and what the pass had joined or kept is not doubled.
TEST(ProxyForward, FieldsNamedByALaterConnectionFieldAreRemovedToo) {
    const http::header_field response[] = {{"X-A", "1"}, {"Connection", "keep-alive"},
                                           {"X-B", "2"}, {"connection", "x-a, X-B"},
                                           {"X-C", "3"}, {"Date", "Mon, 01 Jan 2024 00:00:00 GMT"}};
    std::vector<http::header_field> out;
    build_response_fields(response, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].name, "X-C");

    parsed r(
        "GET / HTTP/1.1\r\nHost: s\r\nX-Forwarded-For: 10.0.0.1\r\nX-Secret: 1\r\n"
        "Forwarded: for=10.0.0.1\r\nConnection: X-Secret\r\nAccept: */*\r\n\r\n");
    request_fields f;
    build_request_fields(r.head(), "192.0.2.7", options{}, f);
    EXPECT_EQ(joined(f),
              "Host: s\nAccept: */*\nX-Forwarded-For: 10.0.0.1, 192.0.2.7\n"
              "X-Forwarded-Proto: http\nForwarded: for=10.0.0.1, for=192.0.2.7;proto=http\n");

    // The upgrade the proxy makes keeps its Upgrade, whatever else Connection names.
    parsed ws(
        "GET /ws HTTP/1.1\r\nHost: s\r\nX-Secret: 1\r\nUpgrade: websocket\r\n"
        "Connection: upgrade, X-Secret\r\n\r\n");
    options o;
    o.x_forwarded_for = o.x_forwarded_proto = o.forwarded = false;
    ASSERT_TRUE(asks_to_upgrade(ws.head()));
    build_request_fields(ws.head(), "", o, f, true);
    EXPECT_EQ(joined(f), "Host: s\nUpgrade: websocket\nConnection: upgrade\n");
}

TEST(ProxyForward, FailuresAreClassified) {
    EXPECT_EQ(classify(std::make_error_code(std::errc::connection_refused)), failure_kind::connect);
    EXPECT_EQ(classify(net::errc::connect_timeout), failure_kind::connect);
    EXPECT_EQ(classify(http::client_errc::response_header_timeout), failure_kind::timeout);
    EXPECT_EQ(classify(pool::errc::timeout), failure_kind::unavailable);
    EXPECT_EQ(classify(http::client_errc::peer_closed_before_response), failure_kind::bad_gateway);
    EXPECT_EQ(classify(std::make_error_code(std::errc::connection_reset)),
              failure_kind::bad_gateway);
}

TEST(ProxyForward, OnlyBodilessIdempotentRequestsLostBeforeAResponseGoElsewhere) {
    EXPECT_TRUE(replayable(parsed("GET / HTTP/1.1\r\nHost: t\r\n\r\n").head()));
    EXPECT_TRUE(replayable(parsed("DELETE /x HTTP/1.1\r\nHost: t\r\n\r\n").head()));
    EXPECT_FALSE(replayable(parsed("POST / HTTP/1.1\r\nHost: t\r\n\r\n").head()));
    EXPECT_FALSE(
        replayable(parsed("PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n").head()));
    EXPECT_TRUE(lost_before_response(http::client_errc::peer_closed_before_response));
    EXPECT_TRUE(lost_before_response(std::make_error_code(std::errc::connection_reset)));
    EXPECT_FALSE(lost_before_response(http::client_errc::response_header_timeout));
}

}  // namespace
}  // namespace waitless::proxy::detail
