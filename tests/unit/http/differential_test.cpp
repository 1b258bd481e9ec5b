// Differential test: on a corpus of valid messages, the parser agrees with Debian's
// libhttp-parser (nodejs/http-parser 2.9) on every message's start line, fields and body.
#include <gtest/gtest.h>
#include <http_parser.h>

#include "parser_harness.hpp"

namespace waitless::http::test {
namespace {

// What http_parser saw, message by message.
struct reference {
    std::vector<parsed_message> messages;
    parsed_message current;
    std::string field, value;
    bool in_value = false;
    bool failed = false;

    void flush_field() {
        if (!field.empty() || in_value) current.headers.emplace_back(field, value);
        field.clear();
        value.clear();
        in_value = false;
    }
};

reference* of(http_parser* p) { return static_cast<reference*>(p->data); }

reference parse_with_http_parser(const std::string& text, http_parser_type type) {
    reference ref;
    http_parser p;
    http_parser_init(&p, type);
    p.data = &ref;
    http_parser_settings s{};
    s.on_message_begin = [](http_parser* hp) {
        of(hp)->current = {};
        return 0;
    };
    s.on_url = [](http_parser* hp, const char* at, size_t n) {
        of(hp)->current.target.append(at, n);
        return 0;
    };
    s.on_status = [](http_parser* hp, const char* at, size_t n) {
        of(hp)->current.reason.append(at, n);
        return 0;
    };
    s.on_header_field = [](http_parser* hp, const char* at, size_t n) {
        auto* r = of(hp);
        if (r->in_value) r->flush_field();
        r->field.append(at, n);
        return 0;
    };
    s.on_header_value = [](http_parser* hp, const char* at, size_t n) {
        of(hp)->in_value = true;
        of(hp)->value.append(at, n);
        return 0;
    };
    s.on_headers_complete = [](http_parser* hp) {
        auto* r = of(hp);
        r->flush_field();
        r->current.method =
            hp->type == HTTP_REQUEST ? http_method_str(static_cast<http_method>(hp->method)) : "";
        r->current.status = hp->type == HTTP_RESPONSE ? hp->status_code : 0;
        r->current.version_minor = hp->http_minor;
        return 0;
    };
    s.on_body = [](http_parser* hp, const char* at, size_t n) {
        of(hp)->current.body.append(at, n);
        return 0;
    };
    s.on_message_complete = [](http_parser* hp) {
        auto* r = of(hp);
        r->flush_field();  // trailers arrive as fields after the body
        r->messages.push_back(r->current);
        r->current = {};
        return 0;
    };
    const auto parsed = http_parser_execute(&p, &s, text.data(), text.size());
    if (parsed != text.size() || HTTP_PARSER_ERRNO(&p) != HPE_OK) ref.failed = true;
    if (type == HTTP_RESPONSE) http_parser_execute(&p, &s, nullptr, 0);  // the close
    return ref;
}

// Ours, with the trailers folded into the fields as http_parser reports them, and without
// what it does not report.
std::vector<parsed_message> comparable(std::vector<parsed_message> messages) {
    for (auto& m : messages) {
        m.headers.insert(m.headers.end(), m.trailers.begin(), m.trailers.end());
        m.trailers.clear();
        m.framing = body_framing::none;
        m.keep_alive = false;
        m.form = target_form::origin;
        m.authority.clear();
    }
    return messages;
}

const std::vector<std::string> requests = {
    "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "GET /search?q=time_wait&lang=en HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nUser-Agent: "
    "curl/7.88\r\n\r\n",
    "HEAD /x HTTP/1.0\r\n\r\n",
    "DELETE /items/42 HTTP/1.1\r\nHost: api:8080\r\nAuthorization: Bearer abc.def\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    "POST /form HTTP/1.1\r\nHost: h\r\nContent-Type: "
    "application/x-www-form-urlencoded\r\nContent-Length: 13\r\n\r\na=1&b=2&c=333",
    "PUT /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
    "chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
    "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
    "chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nExpires: never\r\n\r\n",
    "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\nGET /q HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET http://example.com/path HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Spaces:   padded\r\nCookie: a=b; c=d\r\n\r\n",
    "PATCH /doc HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nIf-Match: \"etag\"\r\n\r\n{}",
};

const std::vector<std::string> responses = {
    "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n",
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nETag: \"1\"\r\n\r\n",
    "HTTP/1.1 301 Moved Permanently\r\nLocation: /new\r\nContent-Length: 3\r\n\r\nbye"
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
    "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nthe body runs until the close",
};

TEST(HttpParserDifferential, RequestsAgreeWithLibHttpParser) {
    for (const auto& text : requests) {
        const auto ref = parse_with_http_parser(text, HTTP_REQUEST);
        ASSERT_FALSE(ref.failed) << "http_parser rejected a corpus message:\n" << text;
        const auto ours = feed(text);
        ASSERT_FALSE(ours.error) << ours.error.message() << "\n" << text;
        EXPECT_EQ(comparable(ours.messages), comparable(ref.messages)) << text;
    }
}

TEST(HttpParserDifferential, ResponsesAgreeWithLibHttpParser) {
    harness_options options;
    options.kind = parser_kind::response;
    options.peer_closes = true;
    for (const auto& text : responses) {
        const auto ref = parse_with_http_parser(text, HTTP_RESPONSE);
        ASSERT_FALSE(ref.failed) << "http_parser rejected a corpus message:\n" << text;
        const auto ours = feed(text, options);
        ASSERT_FALSE(ours.error) << ours.error.message() << "\n" << text;
        EXPECT_EQ(comparable(ours.messages), comparable(ref.messages)) << text;
    }
}

}  // namespace
}  // namespace waitless::http::test
