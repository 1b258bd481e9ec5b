// What `waitless bench` parses its flags with: the target URL, durations, headers, the mode,
// and the request formatted from them.
#include "waitless/loadgen/options.hpp"

#include <gtest/gtest.h>

#include "waitless/loadgen/error.hpp"

namespace waitless::loadgen {
namespace {

using namespace std::chrono_literals;

TEST(ParseTarget, HttpUrls) {
    auto t = parse_target("http://127.0.0.1:8080/a/b?x=1");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "127.0.0.1");
    EXPECT_EQ(t->port, 8080);
    EXPECT_EQ(t->path, "/a/b?x=1");
    EXPECT_FALSE(t->is_unix());
    EXPECT_EQ(t->authority(), "127.0.0.1:8080");

    t = parse_target("http://localhost");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "localhost");
    EXPECT_EQ(t->port, 80);
    EXPECT_EQ(t->path, "/");

    t = parse_target("http://[::1]:9000?q");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->host, "::1");
    EXPECT_EQ(t->port, 9000);
    EXPECT_EQ(t->path, "/?q");
    EXPECT_EQ(t->authority(), "[::1]:9000");
}

TEST(ParseTarget, UnixSockets) {
    auto t = parse_target("unix:/run/app.sock");
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->is_unix());
    EXPECT_EQ(t->unix_path, "/run/app.sock");
    EXPECT_EQ(t->path, "/");
}

TEST(ParseTarget, RejectsWhatIsNotATarget) {
    for (const char* bad : {"", "https://x/", "ftp://x", "http://", "http://:80/", "http://x:/",
                            "http://x:0/", "http://x:70000/", "http://[::1/", "http://[x]:80/",
                            "http://u@x/", "http://x/a b", "unix:", "127.0.0.1:80"}) {
        SCOPED_TRACE(bad);
        auto t = parse_target(bad);
        ASSERT_FALSE(t);
        EXPECT_EQ(t.error(), errc::bad_url);
    }
}

TEST(ParseDuration, UnitsAndPlainSeconds) {
    EXPECT_EQ(parse_duration("10s").value(), 10s);
    EXPECT_EQ(parse_duration("500ms").value(), 500ms);
    EXPECT_EQ(parse_duration("2m").value(), 120s);
    EXPECT_EQ(parse_duration("1h").value(), 3600s);
    EXPECT_EQ(parse_duration("1.5").value(), 1500ms);
    for (const char* bad : {"", "s", "10x", "-1s", "0", "10 s", "1e30h"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_duration(bad));
    }
}

TEST(ParseHeader, NameAndTrimmedValue) {
    auto h = parse_header("X-Test:  a value ");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->first, "X-Test");
    EXPECT_EQ(h->second, "a value");
    EXPECT_EQ(parse_header("Empty:").value().second, "");
    for (const char* bad : {"no colon", ": v", "Bad Name: v", "X: a\r\nInjected: 1"}) {
        SCOPED_TRACE(bad);
        EXPECT_FALSE(parse_header(bad));
    }
}

TEST(ParseMode, TheFourModes) {
    EXPECT_EQ(parse_mode("short").value(), mode::short_lived);
    EXPECT_EQ(parse_mode("server-close").value(), mode::server_close);
    EXPECT_EQ(parse_mode("keepalive").value(), mode::keepalive);
    EXPECT_EQ(parse_mode("pool").value(), mode::pool);
    EXPECT_FALSE(parse_mode("Keepalive"));
    for (auto m : {mode::short_lived, mode::server_close, mode::keepalive, mode::pool}) {
        EXPECT_EQ(parse_mode(mode_name(m)).value(), m);
    }
}

TEST(FormatRequest, HostHeadersBodyAndConnectionClose) {
    config c;
    c.to = *parse_target("http://127.0.0.1:8080/x");
    c.method = "POST";
    c.headers = {{"X-A", "1"}};
    c.body = "hello";
    EXPECT_EQ(format_request(c),
              "POST /x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-A: 1\r\nContent-Length: 5\r\n\r\n"
              "hello");
    c.how = mode::server_close;
    c.body.reset();
    c.headers = {{"host", "example"}};
    EXPECT_EQ(format_request(c), "POST /x HTTP/1.1\r\nhost: example\r\nConnection: close\r\n\r\n");
}

TEST(Validate, PoolNeedsHttp) {
    config c;
    c.to = *parse_target("unix:/tmp/x.sock");
    c.how = mode::pool;
    EXPECT_EQ(validate(c).error(), errc::unsupported);
    c.how = mode::keepalive;
    EXPECT_TRUE(validate(c));
}

}  // namespace
}  // namespace waitless::loadgen
