// The client's pure pieces: URL parsing, field checks, request heads, Keep-Alive parameters,
// replayability, the response's owned copy of a head, and what counts as a lost connection.
#include "http/client_wire.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <future>

#include "http/client_connection.hpp"

#include "waitless/http/client_error.hpp"
#include "waitless/http/parser.hpp"

namespace waitless::http::detail {
namespace {

TEST(ClientWire, ParsesUrls) {
    auto u = parse_url("http://127.0.0.1:8080/a/b?c=d#frag");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->authority, "127.0.0.1:8080");
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, 8080);
    EXPECT_EQ(u->target, "/a/b?c=d");
    auto bare = parse_url("HTTP://example.com");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->port, 80);
    EXPECT_EQ(bare->target, "/");
    auto v6 = parse_url("http://[::1]:81/x");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 81);
}

TEST(ClientWire, RejectsBadUrls) {
    for (const char* bad :
         {"https://h/", "http://", "http:///x", "http://h:0/", "http://h:65536/", "http://h:/",
          "http://u@h/", "http://h/a b", "http://[::1/", "http://h:8x/", "http://h?q"}) {
        auto u = parse_url(bad);
        EXPECT_FALSE(u) << bad;
        if (!u) {
            EXPECT_EQ(u.error(), client_errc::invalid_url) << bad;
        }
    }
}

TEST(ClientWire, ChecksFields) {
    const header_field ok[] = {{"Accept", "*/*"},
                               {"Connection", "keep-alive, close"},
                               {"X-Tab-And-Text", "a\tb \xc3\xa9"}};
    auto s = check_fields(ok);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->asks_close);
    EXPECT_FALSE(s->has_host);
    const header_field host[] = {{"host", "x"}};
    EXPECT_TRUE(check_fields(host)->has_host);
    for (const header_field& bad :
         {header_field{"Bad Name", "v"}, header_field{"", "v"}, header_field{"X", "a\r\nB: c"},
          header_field{"X", "a\nb"}, header_field{"X", std::string_view("a\0b", 3)},
          header_field{"X", "a\x01b"}, header_field{"X", "a\x7f"},
          header_field{"Content-Length", "5"}, header_field{"transfer-encoding", "chunked"}}) {
        EXPECT_EQ(check_fields({&bad, 1}).error(), client_errc::invalid_request) << bad.name;
    }
}

TEST(ClientWire, ParsesWhatFollowsAnAuthority) {
    EXPECT_EQ(*parse_url_target(""), "/");
    EXPECT_EQ(*parse_url_target("/a?b#c"), "/a?b");
    for (const char* bad : {"?q", "#f", "/a b", "x", "/\x7f"}) {
        auto t = parse_url_target(bad);
        EXPECT_FALSE(t) << bad;
        if (!t) {
            EXPECT_EQ(t.error(), client_errc::invalid_url) << bad;
        }
    }
}

TEST(ClientWire, CheckedFieldsAreOnlyLookedAtForFraming) {
    const header_field vouched[] = {{"Host", "h"}, {"Connection", "close"}};
    auto s = check_fields(vouched, true);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->has_host);
    EXPECT_TRUE(s->asks_close);
    for (const header_field& framing :
         {header_field{"Content-Length", "5"}, header_field{"transfer-encoding", "chunked"}}) {
        EXPECT_EQ(check_fields({&framing, 1}, true).error(), client_errc::invalid_request)
            << framing.name;
    }
}

TEST(ClientWire, FormatsRequestHeadsTheParserAccepts) {
    const header_field fields[] = {{"Accept", "*/*"}};
    std::string head;
    format_request_head(head, "POST", "/p?q=1", "h:8080", fields, true,
                        request_framing::content_length, 5, true);
    EXPECT_EQ(head,
              "POST /p?q=1 HTTP/1.1\r\nHost: h:8080\r\nAccept: */*\r\nContent-Length: 5\r\n"
              "Connection: close\r\n\r\n");
    head += "hello";
    parser p(parser_kind::request);
    auto step = p.parse(head);
    ASSERT_TRUE(step);
    EXPECT_EQ(step->what, parser::event::head);
    EXPECT_FALSE(p.head().keep_alive);
    EXPECT_EQ(p.head().content_length, 5u);

    head.clear();
    format_request_head(head, "PUT", "/", "h", {}, true, request_framing::chunked, 0, false);
    EXPECT_EQ(head, "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
}

message_head head_with(const header_field& f) {
    message_head h;
    h.headers = {&f, 1};
    return h;
}

TEST(ClientWire, ReadsTheKeepAliveTimeout) {
    const header_field a{"Keep-Alive", "timeout=5, max=100"};
    EXPECT_EQ(keep_alive_timeout(head_with(a)), std::chrono::seconds(5));
    const header_field b{"keep-alive", "max=3,  TIMEOUT=2 "};
    EXPECT_EQ(keep_alive_timeout(head_with(b)), std::chrono::seconds(2));
    // Unreadable: no time left (not reused), rather than no limit at all.
    const header_field c{"Keep-Alive", "timeout=soon"};
    EXPECT_EQ(keep_alive_timeout(head_with(c)), std::chrono::seconds(0));
    const header_field quoted{"Keep-Alive", "timeout=\"7\""};
    EXPECT_EQ(keep_alive_timeout(head_with(quoted)), std::chrono::seconds(7));
    const header_field huge{"Keep-Alive", "timeout=99999999999999999999999"};
    EXPECT_EQ(keep_alive_timeout(head_with(huge)), std::chrono::seconds(24 * 60 * 60));
    const header_field d{"Connection", "keep-alive"};
    EXPECT_FALSE(keep_alive_timeout(head_with(d)));
    const header_field e{"Keep-Alive", "max=5"};
    EXPECT_FALSE(keep_alive_timeout(head_with(e)));
}

TEST(ClientWire, ReplayableRequests) {
    client_request r;
    EXPECT_TRUE(is_replayable(r));
    r.method = "POST";
    EXPECT_FALSE(is_replayable(r));
    r.idempotent = true;
    EXPECT_TRUE(is_replayable(r));
    r.method = "PUT";
    r.idempotent = false;
    r.source = body_source{};
    EXPECT_FALSE(is_replayable(r)) << "a source that cannot rewind";
    r.source->rewind = [] { return true; };
    EXPECT_TRUE(is_replayable(r));
}

TEST(ClientWire, ResponseOwnsItsHead) {
    client_response out;
    {
        std::string bytes = "HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 0\r\n\r\n";
        parser p(parser_kind::response);
        ASSERT_TRUE(p.parse(bytes));
        out.assign_head(p.head());
        bytes.assign(bytes.size(), 'x');  // the buffer is reused
    }
    client_response moved = std::move(out);
    EXPECT_EQ(moved.status, 200);
    EXPECT_EQ(moved.find("a"), "1");
    EXPECT_EQ(moved.find("content-length"), "0");
    EXPECT_EQ(moved.headers().size(), 2u);
    EXPECT_EQ(make_error_code(client_errc::peer_closed_before_response).message(),
              "connection closed before the response");
}

// Fields that do not lie in one head (built by hand, or out of order) are copied one by one.
TEST(ClientWire, ResponseOwnsFieldsFromAnywhere) {
    client_response out;
    {
        std::string a = "Empty", b = "Later", c = "x-value";
        message_head head;
        head.status = 204;
        const std::vector<header_field> fields = {
            {b, c}, {a, std::string_view(c).substr(0, 0)}, {"Lit", "eral"}};
        head.headers = fields;
        out.assign_head(head);
        a.assign(a.size(), '?');
        b.assign(b.size(), '?');
        c.assign(c.size(), '?');
    }
    ASSERT_EQ(out.headers().size(), 3u);
    EXPECT_EQ(out.headers()[0].name, "Later");
    EXPECT_EQ(out.headers()[0].value, "x-value");
    EXPECT_EQ(out.headers()[1].name, "Empty");
    EXPECT_EQ(out.headers()[1].value, "");
    EXPECT_EQ(out.find("lit"), "eral");
    // Trailers the same way, from a parsed chunked body whose buffer is reused.
    std::string bytes =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT1:  a \r\nT2:\r\n\r\n";
    parser p(parser_kind::response);
    std::string_view rest = bytes;
    std::span<const header_field> trailers;
    for (;;) {
        auto step = p.parse(rest);
        ASSERT_TRUE(step);
        ASSERT_NE(step->what, parser::event::need_more);
        rest.remove_prefix(step->consumed);
        if (step->what == parser::event::end) {
            trailers = p.trailers();
            break;
        }
    }
    out.assign_trailers(trailers);
    bytes.assign(bytes.size(), '?');
    ASSERT_EQ(out.trailers().size(), 2u);
    EXPECT_EQ(out.trailers()[0].name, "T1");
    EXPECT_EQ(out.trailers()[0].value, "a");
    EXPECT_EQ(out.trailers()[1].name, "T2");
    EXPECT_EQ(out.trailers()[1].value, "");
}

}  // namespace
}  // namespace waitless::http::detail

namespace waitless::http::detail {
namespace {

TEST(ClientWire, MethodsMustBeTokens) {
    EXPECT_TRUE(valid_method("GET"));
    EXPECT_TRUE(valid_method("PROPFIND"));
    EXPECT_FALSE(valid_method(""));
    EXPECT_FALSE(valid_method("GET / HTTP/1.1\r\nHost: x\r\n\r\nDELETE"));
    EXPECT_FALSE(valid_method("GET "));
}

// A reset must count as a lost connection in both system categories, or a replayable request
// that met the keep-alive race would not be retried.
TEST(ClientConnectionLost, RecognisesResetsInEveryCategory) {
    EXPECT_TRUE(connection_lost(std::error_code(ECONNRESET, std::system_category())));
    EXPECT_TRUE(connection_lost(std::error_code(EPIPE, std::system_category())));
    EXPECT_TRUE(connection_lost(std::error_code(ECONNABORTED, std::system_category())));
    EXPECT_TRUE(connection_lost(std::make_error_code(std::errc::connection_reset)));
    EXPECT_FALSE(connection_lost(std::make_error_code(std::errc::operation_canceled)));
    EXPECT_FALSE(connection_lost(std::make_error_code(std::errc::timed_out)));
    EXPECT_FALSE(connection_lost(std::error_code(ECONNRESET, std::future_category())));
    EXPECT_FALSE(connection_lost({}));
}

}  // namespace
}  // namespace waitless::http::detail
