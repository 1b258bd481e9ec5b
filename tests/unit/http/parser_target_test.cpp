// The request target's four forms (RFC 9112 3.2), each for the methods it belongs to, and Host
// as a uri-host with an optional port that agrees with the target's authority.
#include <gtest/gtest.h>

#include "parser_harness.hpp"

namespace waitless::http::test {
namespace {

struct target_case {
    const char* rule;
    std::string input;
    errc expected;
};

void PrintTo(const target_case& row, std::ostream* out) { *out << row.rule; }

std::string request(const std::string& line, const std::string& host = "Host: h\r\n") {
    return line + " HTTP/1.1\r\n" + host + "\r\n";
}

const std::vector<target_case> rejections = {
    {"asterisk for GET", request("GET *"), errc::bad_target},
    {"asterisk with more", request("OPTIONS *x"), errc::bad_target},
    {"authority-form for GET", request("GET h:80", "Host: h:80\r\n"), errc::bad_target},
    {"relative path", request("GET a/b"), errc::bad_target},
    {"fragment", request("GET /a#b"), errc::bad_target},
    {"bad percent-encoding", request("GET /a%zz"), errc::bad_target},
    {"truncated percent-encoding", request("GET /a%4"), errc::bad_target},
    {"absolute-form without authority", request("GET http:/a"), errc::bad_target},
    {"absolute-form with empty host", request("GET http:///a"), errc::bad_target},
    {"absolute-form with userinfo", request("GET http://u@h/a"), errc::bad_target},
    {"absolute-form with bad port", request("GET http://h:x/a"), errc::bad_target},
    {"absolute-form with a bad scheme", request("GET 1http://h/a"), errc::bad_target},
    {"CONNECT with origin-form", request("CONNECT /a"), errc::bad_target},
    {"CONNECT with absolute-form", request("CONNECT http://h:80/"), errc::bad_target},
    {"CONNECT without port", request("CONNECT h", "Host: h\r\n"), errc::bad_target},
    {"CONNECT with empty port", request("CONNECT h:", "Host: h:\r\n"), errc::bad_target},
    {"CONNECT with port too large", request("CONNECT h:65536", "Host: h:65536\r\n"),
     errc::bad_target},
    {"CONNECT with asterisk", request("CONNECT *"), errc::bad_target},
    {"absolute-form and another Host", request("GET http://a/x", "Host: b\r\n"),
     errc::host_mismatch},
    {"absolute-form and another port", request("GET http://a:81/x", "Host: a:80\r\n"),
     errc::host_mismatch},
    {"CONNECT and another Host", request("CONNECT a:443", "Host: b:443\r\n"), errc::host_mismatch},
    {"absolute-form without Host", request("GET http://a/x", ""), errc::missing_host},
    {"empty Host", request("GET /", "Host: \r\n"), errc::bad_host},
    {"Host with a letter port", request("GET /", "Host: h:x\r\n"), errc::bad_host},
    {"Host with two colons", request("GET /", "Host: h:1:2\r\n"), errc::bad_host},
    {"Host with empty port", request("GET /", "Host: h:\r\n"), errc::bad_host},
    {"Host with port too large", request("GET /", "Host: h:70000\r\n"), errc::bad_host},
    {"Host with unclosed bracket", request("GET /", "Host: [::1\r\n"), errc::bad_host},
    {"Host with a bad IPv6", request("GET /", "Host: [zz::1]\r\n"), errc::bad_host},
    {"Host with bad percent-encoding", request("GET /", "Host: a%zz\r\n"), errc::bad_host},
    {"Host with a bracket inside", request("GET /", "Host: a[b]\r\n"), errc::bad_host},
};

class ParserTargets : public ::testing::TestWithParam<target_case> {};

TEST_P(ParserTargets, AreRejected) {
    const auto& row = GetParam();
    const auto out = feed_every_split(row.input);
    EXPECT_EQ(out.error, make_error_code(row.expected))
        << row.rule << ": got " << (out.error ? out.error.message() : "no error");
    EXPECT_EQ(status_for(out.error), 400);
}

INSTANTIATE_TEST_SUITE_P(EveryRule, ParserTargets, ::testing::ValuesIn(rejections),
                         [](const auto& test) {
                             std::string name = test.param.rule;
                             for (char& c : name) {
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             }
                             return name;
                         });

TEST(ParserTargets, EachFormIsAcceptedWhereItBelongs) {
    struct accepted {
        std::string input;
        target_form form;
        std::string authority;
    };
    const std::vector<accepted> cases = {
        {request("GET /a/b?c=d/e?f&g=%2F"), target_form::origin, ""},
        {request("GET /"), target_form::origin, ""},
        {request("OPTIONS *"), target_form::asterisk, ""},
        {request("OPTIONS /a"), target_form::origin, ""},
        {request("GET http://h:8080/p?q", "Host: h:8080\r\n"), target_form::absolute, "h:8080"},
        {request("GET HTTP://Example.COM/", "Host: example.com\r\n"), target_form::absolute,
         "Example.COM"},
        {request("GET http://h", "Host: h\r\n"), target_form::absolute, "h"},
        {request("GET http://h?q", "Host: h\r\n"), target_form::absolute, "h"},
        {request("GET https://[::1]:8443/", "Host: [::1]:8443\r\n"), target_form::absolute,
         "[::1]:8443"},
        {request("CONNECT h.example:443", "Host: h.example:443\r\n"), target_form::authority,
         "h.example:443"},
        {request("CONNECT 10.0.0.1:80", "Host: 10.0.0.1:80\r\n"), target_form::authority,
         "10.0.0.1:80"},
        {request("GET /", "Host: [2001:db8::ff00:42:8329]:80\r\n"), target_form::origin, ""},
        {request("GET /", "Host: a-b.c_d~e%41!$&'()*+,;=:1\r\n"), target_form::origin, ""},
        {"GET http://a/x HTTP/1.0\r\n\r\n", target_form::absolute, "a"},  // 1.0: Host optional
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.input);
        const auto out = feed_every_split(c.input);
        ASSERT_FALSE(out.error) << out.error.message();
        ASSERT_EQ(out.messages.size(), 1u);
        EXPECT_EQ(out.messages[0].form, c.form);
        EXPECT_EQ(out.messages[0].authority, c.authority);
    }
}

}  // namespace
}  // namespace waitless::http::test
