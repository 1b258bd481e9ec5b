// Responses formatted ahead of time, reason phrases and the Date field.
#include <gtest/gtest.h>

#include "http/deadline_list.hpp"
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

TEST(HttpDeadlineList, ExpiresInOrderAndForgetsUnlinked) {
    using namespace std::chrono_literals;
    detail::deadline_list list(100ms);
    detail::deadline_hook a, b, c;
    const auto t0 = detail::clock::now();
    list.push(a, t0);
    list.push(b, t0 + 10ms);
    list.push(c, t0 + 20ms);
    b.unlink();
    list.push(a, t0 + 30ms);  // refreshed: to the back
    std::vector<detail::deadline_hook*> expired;
    list.expire(t0 + 125ms, [&](detail::deadline_hook& h) { expired.push_back(&h); });
    EXPECT_EQ(expired, std::vector<detail::deadline_hook*>{&c});
    EXPECT_FALSE(c.armed());
    EXPECT_TRUE(a.armed());
    EXPECT_EQ(list.front(), &a);
    list.expire(t0 + 130ms, [&](detail::deadline_hook& h) { expired.push_back(&h); });
    EXPECT_TRUE(list.empty());
    EXPECT_EQ(expired.size(), 2u);
}

}  // namespace
}  // namespace waitless::http
