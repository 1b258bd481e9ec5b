// One row per strictness rule: the input, and the error it must be rejected with.
#include <gtest/gtest.h>

#include "parser_harness.hpp"

namespace waitless::http::test {
namespace {

struct rejection {
    const char* rule;
    std::string input;
    errc expected;
    parser_kind kind = parser_kind::request;
};

void PrintTo(const rejection& row, std::ostream* out) { *out << row.rule; }

const std::string get = "GET / HTTP/1.1\r\nHost: h\r\n";
const std::string post = "POST / HTTP/1.1\r\nHost: h\r\n";
const std::string chunked = post + "Transfer-Encoding: chunked\r\n\r\n";

const std::vector<rejection> rejections = {
    {"content-length with transfer-encoding",
     post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
     errc::content_length_with_transfer_encoding},
    {"transfer-encoding before content-length",
     post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
     errc::content_length_with_transfer_encoding},
    {"transfer-encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
     errc::transfer_encoding_in_http10},
    {"chunked not last", post + "Transfer-Encoding: chunked, gzip\r\n\r\n", errc::chunked_not_last},
    {"no chunked in a request", post + "Transfer-Encoding: gzip\r\n\r\n", errc::chunked_not_last},
    {"empty transfer-encoding", post + "Transfer-Encoding: \r\n\r\n", errc::chunked_not_last},
    {"unknown coding", post + "Transfer-Encoding: foo, chunked\r\n\r\n",
     errc::unknown_transfer_coding},
    {"chunked with parameters", post + "Transfer-Encoding: chunked;x=1\r\n\r\n",
     errc::unknown_transfer_coding},
    {"chunked twice in one field", post + "Transfer-Encoding: chunked, chunked\r\n\r\n",
     errc::chunked_twice},
    {"chunked twice in two fields",
     post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
     errc::chunked_twice},
    {"duplicate equal content-length", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
     errc::duplicate_content_length},
    {"content-length list", post + "Content-Length: 5, 5\r\n\r\nhello", errc::bad_content_length},
    {"content-length sign", post + "Content-Length: +5\r\n\r\nhello", errc::bad_content_length},
    {"content-length negative", post + "Content-Length: -1\r\n\r\n", errc::bad_content_length},
    {"content-length hex", post + "Content-Length: 0x5\r\n\r\n", errc::bad_content_length},
    {"content-length empty", post + "Content-Length: \r\n\r\n", errc::bad_content_length},
    {"content-length inner space", post + "Content-Length: 1 2\r\n\r\n", errc::bad_content_length},
    {"content-length overflow", post + "Content-Length: 18446744073709551616\r\n\r\n",
     errc::bad_content_length},
    {"obs-fold", get + "X-A: a\r\n b\r\n\r\n", errc::obsolete_line_folding},
    {"obs-fold with tab", get + "X-A: a\r\n\tb\r\n\r\n", errc::obsolete_line_folding},
    {"bare LF after request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", errc::bad_line_ending},
    {"bare LF after a field", "GET / HTTP/1.1\r\nHost: h\n\r\n", errc::bad_line_ending},
    {"bare LF ends the head", get + "\n", errc::bad_line_ending},
    {"bare CR in a value", get + "X-A: a\rb\r\n\r\n", errc::bad_line_ending},
    {"bare CR at a value's end", get + "X-A: a\r\r\n\r\n", errc::bad_line_ending},
    {"bare CR in the target", "GET /\r HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target},
    {"whitespace before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
     errc::whitespace_before_colon},
    {"tab before colon", get + "X-A\t: 1\r\n\r\n", errc::whitespace_before_colon},
    {"whitespace before first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n",
     errc::leading_whitespace},
    {"NUL in a value", get + std::string("X-A: a\0b\r\n\r\n", 12), errc::bad_header_value},
    {"control in a value",
     get + "X-A: a\x01"
           "b\r\n\r\n",
     errc::bad_header_value},
    {"DEL in a value", get + "X-A: a\x7f\r\n\r\n", errc::bad_header_value},
    {"invalid method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_method},
    {"empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_method},
    {"method then tab", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_method},
    {"invalid field name", get + "X\x01Y: 1\r\n\r\n", errc::bad_header_name},
    {"empty field name", get + ": 1\r\n\r\n", errc::bad_header_name},
    {"field without colon", get + "X-A\r\n\r\n", errc::bad_header_name},
    {"non-ascii field name", get + "X\xc3\xa9: 1\r\n\r\n", errc::bad_header_name},
    {"two spaces after method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_request_line},
    {"two spaces after target", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_request_line},
    {"space after version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", errc::bad_request_line},
    {"no version", "GET /\r\nHost: h\r\n\r\n", errc::bad_request_line},
    {"method only", "GET\r\nHost: h\r\n\r\n", errc::bad_request_line},
    {"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", errc::bad_version},
    {"two-digit minor", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", errc::bad_version},
    {"letter version", "GET / HTTP/1.x\r\nHost: h\r\n\r\n", errc::bad_version},
    {"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", errc::version_not_supported},
    {"non-ascii target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", errc::bad_target},
    {"missing host", "GET / HTTP/1.1\r\n\r\n", errc::missing_host},
    {"repeated host", get + "Host: h\r\n\r\n", errc::duplicate_host},
    {"host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", errc::bad_host},
    {"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", errc::bad_host},
    {"host with at", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", errc::bad_host},
    {"chunk size overflow", chunked + "10000000000000000\r\n", errc::chunk_size_overflow},
    {"chunk size junk", chunked + "5x\r\nhello\r\n0\r\n\r\n", errc::bad_chunk_size},
    {"chunk size not hex", chunked + "g\r\n", errc::bad_chunk_size},
    {"chunk size empty", chunked + "\r\n", errc::bad_chunk_size},
    {"chunk size negative", chunked + "-5\r\n", errc::bad_chunk_size},
    {"chunk size 0x", chunked + "0x5\r\n", errc::bad_chunk_size},
    {"chunk extension without name", chunked + "5;\r\nhello\r\n0\r\n\r\n",
     errc::bad_chunk_extension},
    {"chunk extension without value", chunked + "5;a=\r\nhello\r\n0\r\n\r\n",
     errc::bad_chunk_extension},
    {"chunk extension unterminated quote", chunked + "5;a=\"x\r\nhello\r\n0\r\n\r\n",
     errc::bad_chunk_extension},
    {"chunk extension control", chunked + "5;a=b\x01\r\nhello\r\n0\r\n\r\n",
     errc::bad_chunk_extension},
    {"chunk size trailing space", chunked + "5 \r\nhello\r\n0\r\n\r\n", errc::bad_chunk_extension},
    {"chunk data too long", chunked + "5\r\nhelloX\r\n0\r\n\r\n", errc::bad_chunk_end},
    {"chunk data without CRLF", chunked + "5\r\nhello\rX", errc::bad_chunk_end},
    {"chunk line bare LF", chunked + "5\nhello\r\n", errc::bad_line_ending},
    {"trailer obs-fold", chunked + "0\r\nX: a\r\n b\r\n\r\n", errc::obsolete_line_folding},
    {"trailer bare LF", chunked + "0\r\nX: a\n\r\n", errc::bad_line_ending},
    {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", errc::bad_status_line, parser_kind::response},
    {"status below 100", "HTTP/1.1 099 X\r\n\r\n", errc::bad_status_line, parser_kind::response},
    {"status with letters", "HTTP/1.1 2x0 OK\r\n\r\n", errc::bad_status_line,
     parser_kind::response},
    {"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", errc::bad_status_line,
     parser_kind::response},
    {"HTTP/2 status line", "HTTP/2.0 200 OK\r\n\r\n", errc::version_not_supported,
     parser_kind::response},
    {"response length and chunked",
     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
     errc::content_length_with_transfer_encoding, parser_kind::response},
    {"response duplicate length",
     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
     errc::duplicate_content_length, parser_kind::response},
    {"response unknown coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n\r\n",
     errc::unknown_transfer_coding, parser_kind::response},
};

class ParserRejects : public ::testing::TestWithParam<std::tuple<rejection, bool>> {};

TEST_P(ParserRejects, WithTheRuleError) {
    const auto& [row, simd] = GetParam();
    harness_options options;
    options.kind = row.kind;
    options.limits.simd = simd;
    const auto out = feed_every_split(row.input, options);
    EXPECT_EQ(out.error, make_error_code(row.expected))
        << row.rule << ": got " << (out.error ? out.error.message() : "no error");
}

INSTANTIATE_TEST_SUITE_P(EveryRule, ParserRejects,
                         ::testing::Combine(::testing::ValuesIn(rejections), ::testing::Bool()),
                         [](const auto& test) {
                             std::string name = std::get<0>(test.param).rule;
                             for (char& c : name) {
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             }
                             return name + (std::get<1>(test.param) ? "_simd" : "_scalar");
                         });

TEST(ParserLimits, StartLineHeadCountChunkLineAndBody) {
    const std::string long_target(9000, 'a');
    EXPECT_EQ(feed("GET /" + long_target + " HTTP/1.1\r\nHost: h\r\n\r\n").error,
              errc::start_line_too_long);
    EXPECT_EQ(feed("GET /" + long_target).error, errc::start_line_too_long);  // still waiting
    // Longer than the whole head limit too: still the start line's error.
    EXPECT_EQ(feed("GET /" + std::string(17000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n").error,
              errc::start_line_too_long);
    EXPECT_EQ(feed(get + "X-Big: " + std::string(20000, 'b') + "\r\n\r\n").error,
              errc::head_too_large);
    std::string many = get;
    for (int i = 0; i < 100; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(feed(many + "\r\n").error, errc::too_many_headers);
    EXPECT_EQ(feed(chunked + "5;" + std::string(2000, 'e') + "\r\n").error,
              errc::chunk_line_too_long);
    harness_options small;
    small.limits.max_body = 10;
    EXPECT_EQ(feed(post + "Content-Length: 11\r\n\r\n", small).error, errc::body_too_large);
    EXPECT_EQ(feed(chunked + "6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", small).error,
              errc::body_too_large);
    EXPECT_FALSE(feed(post + "Content-Length: 10\r\n\r\n0123456789", small).error);
}

TEST(ParserErrors, MapToTheirStatusCodes) {
    EXPECT_EQ(status_for(errc::bad_header_value), 400);
    EXPECT_EQ(status_for(errc::missing_host), 400);
    EXPECT_EQ(status_for(errc::unknown_transfer_coding), 501);
    EXPECT_EQ(status_for(errc::version_not_supported), 505);
    EXPECT_EQ(status_for(errc::start_line_too_long), 414);
    EXPECT_EQ(status_for(errc::head_too_large), 431);
    EXPECT_EQ(status_for(errc::too_many_headers), 431);
    EXPECT_EQ(status_for(errc::body_too_large), 413);
    EXPECT_EQ(status_for(std::make_error_code(std::errc::connection_reset)), 400);
    for (int e = 1; e <= static_cast<int>(errc::partial_message); ++e) {
        EXPECT_NE(make_error_code(static_cast<errc>(e)).message(), "unknown HTTP error") << e;
    }
}

}  // namespace
}  // namespace waitless::http::test
