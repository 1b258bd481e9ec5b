// Responses formatted ahead of time, reason phrases and the Date field.
#include <gtest/gtest.h>

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

TEST(HttpResponse, DateLineIsImfFixdate) {
    EXPECT_EQ(format_date_line(784111777), "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
    EXPECT_EQ(format_date_line(0).size(), date_line_size);
}

}  // namespace
}  // namespace waitless::http
