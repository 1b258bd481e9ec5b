// Reusing a pooled connection: a server's close that the loop's epoll reported while the
// connection sat idle is seen before reuse (no request is sent into it, none is replayed).
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "unit/http/running_server.hpp"
#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;

io::task<void> hello(exchange& ex) {
    (void)ex.start(200, {}, 6);
    (void)co_await ex.write("hello\n");
    ex.end();
}

server_options closing_idle_after(std::chrono::milliseconds idle) {
    server_options o;
    o.idle_timeout = idle;  // below 1 s: not advertised, so the client cannot know it
    return o;
}

TEST(ClientReuse, AnIdleCloseTheLoopSawIsNotReused) {
    running_server rs(hello, closing_idle_after(20ms));
    const std::string url = "http://127.0.0.1:" + std::to_string(rs.port) + "/";
    const std::string origin = "127.0.0.1:" + std::to_string(rs.port);
    client c(io::thread_loop());
    client_request r;
    r.url = url;
    for (int round = 0; round < 3; ++round) {
        auto first = io::block_on(c.request(r));
        ASSERT_TRUE(first) << first.error().message();
        // The loop runs while the server's idle close comes in, and reports it; the next
        // request comes well within the time after which a connection is asked directly.
        io::block_on(io::thread_loop().sleep_for(60ms));
    }
    auto last = io::block_on(c.request(r));
    ASSERT_TRUE(last) << last.error().message();
    EXPECT_EQ(c.stats().stale, 3u) << "each close seen before reuse";
    EXPECT_EQ(c.stats().retries, 0u) << "no request went into a closed connection";
    EXPECT_EQ(c.stats().failures, 0u);
    EXPECT_EQ(c.pool_stats(origin)->created, 4u);
}

TEST(ClientReuse, ALiveIdleConnectionIsReused) {
    running_server rs(hello, closing_idle_after(5s));
    const std::string origin = "127.0.0.1:" + std::to_string(rs.port);
    const std::string url = "http://" + origin + "/";
    client c(io::thread_loop());
    client_request r;
    r.url = url;
    for (int i = 0; i < 5; ++i) {
        auto got = io::block_on(c.request(r));
        ASSERT_TRUE(got) << got.error().message();
        io::block_on(io::thread_loop().sleep_for(i % 2 == 0 ? 5ms : 150ms));  // both ways
    }
    EXPECT_EQ(c.stats().stale, 0u);
    EXPECT_EQ(c.pool_stats(origin)->created, 1u);
}

}  // namespace
}  // namespace waitless::http
