// The exchange beyond one response: 1xx interim responses, 101 and the tunnel after it, and
// the misuse of each as an error value.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/http_serve_process.hpp"
#include "unit/http/running_server.hpp"
#include "waitless/http/error.hpp"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;
using test::get;
using test::raw_client;

TEST(HttpServerUpgrade, InterimAndSwitchingResponsesAreCheckedAndMisuseIsAnError) {
    running_server rs([](exchange& ex) -> io::task<void> {
        const header_field upgrade[] = {{"Upgrade", "echo"}};
        // The request did not ask to switch: no 101, and no tunnel without one.
        EXPECT_EQ(ex.start(101, upgrade, std::nullopt).error(), errc::not_an_upgrade);
        upgraded none;  // named: g++ 12 mishandles aggregate temporaries in co_await
        EXPECT_EQ((co_await ex.tunnel(std::move(none))).error(), errc::not_an_upgrade);
        // Interim statuses go through informational(), never start().
        EXPECT_EQ(ex.start(103, {}, std::nullopt).error(), std::errc::invalid_argument);
        EXPECT_EQ(ex.informational(200, {}).error(), std::errc::invalid_argument);
        EXPECT_EQ(ex.informational(101, {}).error(), std::errc::invalid_argument);
        const header_field bad[] = {{"Link", "a\r\nX: y"}};
        EXPECT_EQ(ex.informational(103, bad).error(), errc::invalid_response_field);
        const header_field link[] = {{"Link", "</a.css>; rel=preload"}};
        EXPECT_TRUE(ex.informational(103, link));
        EXPECT_TRUE(ex.informational(100, {}));  // not asked for: nothing sent
        EXPECT_TRUE(ex.start(200, {}, 2));
        EXPECT_EQ(ex.informational(103, link).error(), errc::response_already_started);
        co_await ex.write("ok");
        ex.end();
    });
    raw_client c(rs.port);
    ASSERT_TRUE(c.send(get()));
    const auto r = c.read_responses(2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].status, 103);
    EXPECT_EQ(r[0].header("link"), "</a.css>; rel=preload");
    EXPECT_EQ(r[1].status, 200);
    EXPECT_EQ(r[1].body, "ok");
}

// The other end of the handler's tunnel: a socket pair whose far side a thread echoes.
std::atomic<int> near_end{-1};

TEST(HttpServerUpgrade, ATunnelRelaysEarlyBytesBothWaysAndHalfClosesCleanly) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    near_end = pair[0];
    std::thread echo([far = pair[1]] {
        ::send(far, "hello from the other side;", 26, MSG_NOSIGNAL);  // before any byte came
        char buffer[4096];
        for (;;) {
            const auto n = ::recv(far, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            ::send(far, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL);
        }
        ::shutdown(far, SHUT_WR);
        ::close(far);
    });
    static std::atomic<bool> clean{false};
    running_server rs([](exchange& ex) -> io::task<void> {
        const int fd = near_end.exchange(-1);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        const header_field upgrade[] = {{"Upgrade", "echo"}};
        EXPECT_TRUE(ex.start(101, upgrade, std::nullopt));
        upgraded other{net::socket(fd), "early;"};
        auto totals = co_await ex.tunnel(std::move(other));
        EXPECT_TRUE(totals);
        clean = totals && totals->clean;
    });
    raw_client c(rs.port);
    // Bytes of the new protocol right behind the request head.
    ASSERT_TRUE(c.send(get("/", "Upgrade: echo\r\nConnection: upgrade\r\n") + "ping;"));
    std::string got;
    const std::string expected = "early;hello from the other side;ping;";
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (got.find(expected) == std::string::npos && std::chrono::steady_clock::now() < give_up) {
        char buffer[4096];
        pollfd p{c.fd(), POLLIN, 0};
        if (::poll(&p, 1, 100) != 1) continue;
        const auto n = ::recv(c.fd(), buffer, sizeof buffer, 0);
        if (n <= 0) break;
        got.append(buffer, static_cast<std::size_t>(n));
    }
    EXPECT_TRUE(got.starts_with("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n")) << got;
    EXPECT_NE(got.find("Connection: upgrade\r\n\r\n"), std::string::npos) << got;
    // "early;" (the other side's bytes read already) first, ours echoed after.
    const auto after_head = got.substr(got.find("\r\n\r\n") + 4);
    EXPECT_TRUE(after_head.starts_with("early;")) << after_head;
    EXPECT_NE(after_head.find("ping;"), std::string::npos) << after_head;
    // Our FIN goes through; the echo's comes back; the tunnel ends cleanly.
    ::shutdown(c.fd(), SHUT_WR);
    EXPECT_EQ(c.next_event(2s), 0);
    echo.join();
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (!clean && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(clean);
}

}  // namespace
}  // namespace waitless::http
