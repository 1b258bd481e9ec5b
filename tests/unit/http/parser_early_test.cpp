// A request head is rejected as soon as its bytes cannot become valid, not at its empty line:
// a client that sends a bad prefix and then nothing gets its 400 now, not at the header timeout.
#include <gtest/gtest.h>

#include "parser_harness.hpp"

namespace waitless::http::test {
namespace {

struct early_case {
    const char* rule;
    std::string prefix;  // never the whole head: no final empty line
    errc expected;
};

void PrintTo(const early_case& row, std::ostream* out) { *out << row.rule; }

const std::string get = "GET / HTTP/1.1\r\nHost: h\r\n";
const std::string post = "POST / HTTP/1.1\r\nHost: h\r\n";

const std::vector<early_case> early_cases = {
    {"bare CR in a value", get + "X-A: a\rb", errc::bad_line_ending},
    {"bare CR ends a value", get + "X-A: a\r\r", errc::bad_line_ending},
    {"bare CR after the Host value", "GET / HTTP/1.1\r\nHost: h\rX", errc::bad_line_ending},
    {"bare CR in a field name", get + "X\rY", errc::bad_header_name},
    {"bare CR in the target", "GET /a\rb", errc::bad_target},
    {"bare CR after the version", "GET / HTTP/1.1\rX", errc::bad_line_ending},
    {"bare LF in a field", get + "X-A: a\n", errc::bad_line_ending},
    {"control in a value", get + "X-A: a\x01", errc::bad_header_value},
    {"second content-length", post + "Content-Length: 5\r\nContent-Length: 5\r\n",
     errc::duplicate_content_length},
    {"second content-length differs", post + "Content-Length: 5\r\nContent-Length: 6\r\n",
     errc::duplicate_content_length},
    {"invalid content-length", post + "Content-Length: 5x\r\n", errc::bad_content_length},
    {"letter in the version", "GET / HTTP/1.x\r\n", errc::bad_version},
    {"unsupported version", "GET / HTTP/2.0\r\n", errc::version_not_supported},
    {"version cannot become valid", "GET / HTTX", errc::bad_version},
    {"lower-case version prefix", "GET / http", errc::bad_version},
    {"version too long", "GET / HTTP/1.10", errc::bad_version},
    {"space after the version", "GET / HTTP/1.1 ", errc::bad_request_line},
    {"invalid method", "G(T", errc::bad_method},
    {"whitespace before colon", get + "X-A :", errc::whitespace_before_colon},
};

class ParserRejectsEarly : public ::testing::TestWithParam<std::tuple<early_case, bool>> {};

TEST_P(ParserRejectsEarly, BeforeTheHeadEnds) {
    const auto& [row, simd] = GetParam();
    harness_options options;
    options.limits.simd = simd;
    const auto out = feed_every_split(row.prefix, options);
    EXPECT_EQ(out.error, make_error_code(row.expected))
        << row.rule << ": got " << (out.error ? out.error.message() : "need_more");
}

INSTANTIATE_TEST_SUITE_P(EveryRule, ParserRejectsEarly,
                         ::testing::Combine(::testing::ValuesIn(early_cases), ::testing::Bool()),
                         [](const auto& test) {
                             std::string name = std::get<0>(test.param).rule;
                             for (char& c : name) {
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             }
                             return name + (std::get<1>(test.param) ? "_simd" : "_scalar");
                         });

// What can still become valid waits for more.
TEST(ParserRejectsEarly, ValidPrefixesWait) {
    const std::vector<std::string> prefixes = {"GET / HTTP/1.1\r",
                                               "GET / HTTP/1",
                                               "GET / HTTP/1.1",
                                               "GET /a",
                                               "GET",
                                               get + "X-A: a\r",
                                               get + "X-A",
                                               post + "Content-Length: 5\r\nContent-Length: 5",
                                               post + "Content-Length: 5\r\nContent-Length: 5\r"};
    for (const auto& prefix : prefixes) {
        SCOPED_TRACE(prefix);
        const auto out = feed_every_split(prefix);
        EXPECT_FALSE(out.error) << out.error.message();
        EXPECT_TRUE(out.messages.empty());
    }
}

}  // namespace
}  // namespace waitless::http::test
