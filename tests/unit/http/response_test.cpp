// Responses formatted ahead of time, reason phrases and the Date field.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "waitless/http/response.hpp"

namespace waitless::http {
namespace {

TEST(HttpResponse, PreparedResponseHasItsLengthAndBody) {
    const header_field fields[] = {{"Server", "waitless"}, {"Content-Type", "text/plain"}};
    const prepared_response r(200, fields, "hello world\n");
    EXPECT_EQ(r.head(),
              "HTTP/1.1 200 OK\r\nServer: waitless\r\nContent-Type: text/plain\r\n"
              "Content-Length: 12\r\n");
    EXPECT_EQ(r.body(), "hello world\n");
}

// Short names and values are copied with overlapping loads: every length around those sizes,
// after what the string held already.
TEST(HttpResponse, FieldLinesOfEveryShortLength) {
    std::string alphabet;
    for (int i = 0; i < 40; ++i) alphabet.push_back(static_cast<char>('A' + i % 26));
    for (std::size_t name = 1; name <= 34; ++name) {
        std::vector<std::string> values;
        std::vector<header_field> fields;
        std::string expected = "kept\r\n";
        for (std::size_t value = 0; value <= 34; ++value)
            values.push_back(alphabet.substr(value % 5, value));
        for (const auto& v : values) {
            fields.push_back({std::string_view(alphabet).substr(0, name), v});
            expected += alphabet.substr(0, name) + ": " + v + "\r\n";
        }
        std::string out = "kept\r\n";
        append_field_lines(out, fields);
        ASSERT_EQ(out, expected) << "names of " << name << " bytes";
    }
    std::string empty = "x";
    append_field_lines(empty, {});
    EXPECT_EQ(empty, "x");
    // A string that grows to more than the lines need (its capacity doubles) holds them only.
    std::string grown(17, 'h');
    grown.shrink_to_fit();
    const header_field note[] = {{"X-Note", "fine"}};
    append_field_lines(grown, note);
    EXPECT_EQ(grown, std::string(17, 'h') + "X-Note: fine\r\n");
}

TEST(HttpResponse, BodylessStatusesHaveNoLength) {
    const prepared_response r(204, {}, "dropped");
    EXPECT_EQ(r.head(), "HTTP/1.1 204 No Content\r\n");
    EXPECT_EQ(r.body(), "");
}

TEST(HttpResponse, ReasonPhrases) {
    EXPECT_EQ(reason_phrase(404), "Not Found");
    EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(reason_phrase(299), "Unknown");
}

TEST(HttpResponse, StatusLinesForEveryThreeDigitCode) {
    EXPECT_EQ(status_line(200), "HTTP/1.1 200 OK\r\n");
    EXPECT_EQ(status_line(100), "HTTP/1.1 100 Continue\r\n");
    EXPECT_EQ(status_line(431), "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    EXPECT_EQ(status_line(299), "HTTP/1.1 299 Unknown\r\n");
    EXPECT_EQ(status_line(999), "HTTP/1.1 999 Unknown\r\n");
    for (int status = 100; status <= 999; ++status) {
        ASSERT_EQ(status_line(status), "HTTP/1.1 " + std::to_string(status) + " " +
                                           std::string(reason_phrase(status)) + "\r\n");
    }
    EXPECT_EQ(status_line(99), "");
    EXPECT_EQ(status_line(1000), "");
    EXPECT_EQ(status_line(-200), "");
    EXPECT_THROW(prepared_response(1000, {}, "x"), std::invalid_argument);
    EXPECT_THROW(prepared_response(42, {}, "x"), std::invalid_argument);
}

TEST(HttpResponse, DateLineIsImfFixdate) {
    EXPECT_EQ(format_date_line(784111777), "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
    EXPECT_EQ(format_date_line(0).size(), date_line_size);
}

}  // namespace
}  // namespace waitless::http
