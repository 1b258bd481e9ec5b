// TIME_WAIT and the client, counted by the census in a private namespace: retirement (max_uses)
// lets nginx close first, idle eviction resets; neither leaves TIME_WAIT on the client.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <thread>

#include "support/netns.hpp"
#include "support/nginx.hpp"
#include "waitless/census/census.hpp"
#include "waitless/http/client.hpp"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;

test::nginx_config hello_in(const test::temporary_netns& ns) {
    test::nginx_config c;
    c.server_block = "location = /hello { return 200 \"hello world\\n\"; }\n";
    c.http_block = "keepalive_requests 100000;";
    c.ns = &ns;
    return c;
}

census::snapshot census_now() {
    auto taken = census::take_snapshot();
    EXPECT_TRUE(taken) << taken.error().message();
    return taken ? std::move(*taken) : census::snapshot{};
}

// Runs `count` requests, `parallel` at a time, on io (which must outlive the client).
void run_requests(asio::io_context& io, client& c, const std::string& url, int count,
                  int parallel) {
    int ok = 0;
    for (int k = 0; k < parallel; ++k) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                for (int i = 0; i < count / parallel; ++i) {
                    client_request r;
                    r.url = url;
                    auto resp = co_await c.request(r);
                    if (resp && resp->status == 200) ++ok;
                }
            },
            [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
    }
    io.restart();
    io.run();
    EXPECT_EQ(ok, count / parallel * parallel);
}

template <class Done>
void wait_for(Done done) {
    for (int i = 0; i < 300 && !done(); ++i) std::this_thread::sleep_for(10ms);
}

TEST(HttpClientTimeWait, RetirementByMaxUsesLeavesTheTimeWaitOnTheServer) {
    WAITLESS_NETNS_OR_SKIP(ns);
    WAITLESS_NGINX_OR_SKIP(nginx, hello_in(*ns));
    ns->run([&] {
        client_options o;
        o.max_uses = 5;
        asio::io_context io(1);
        auto c = std::make_unique<client>(o);
        run_requests(io, *c, nginx->base_url() + "/hello", 100, 4);
        const auto st = c->stats();
        EXPECT_EQ(st.requests, 100u);
        // Every fifth request on a connection said Connection: close; the connections still
        // open at the end (at most 4) are short of their fifth.
        EXPECT_GE(st.retired, 16u);
        EXPECT_LE(st.retired, 20u);
        wait_for([&] { return c->stats().closed_time_wait_peer >= st.retired; });
        EXPECT_EQ(c->stats().closed_time_wait_peer, st.retired);
        EXPECT_EQ(c->stats().closed_time_wait_here, 0u);
        c.reset();  // whatever is left closes by RST
        const auto snap = census_now();
        EXPECT_EQ(snap.time_wait_client, 0u);
        EXPECT_GE(snap.time_wait_server, st.retired) << "nginx closed first, on its listening port";
    });
}

TEST(HttpClientTimeWait, IdleEvictionResetsAndLeavesNoTimeWaitAnywhere) {
    WAITLESS_NETNS_OR_SKIP(ns);
    WAITLESS_NGINX_OR_SKIP(nginx, hello_in(*ns));
    ns->run([&] {
        client_options o;
        o.idle_timeout = 300ms;
        asio::io_context io(1);
        client c(o);
        run_requests(io, c, nginx->base_url() + "/hello", 200, 10);
        const auto origin = "127.0.0.1:" + std::to_string(nginx->port());
        const auto created = c.pool_stats(origin)->created;
        EXPECT_GE(created, 2u);
        wait_for([&] { return c.pool_stats(origin)->size == 0; });
        EXPECT_EQ(c.pool_stats(origin)->size, 0u) << "evicted when idle";
        EXPECT_EQ(c.stats().closed_reset, created);
        const auto snap = census_now();
        EXPECT_EQ(snap.time_wait, 0u) << "RST: no TIME_WAIT on either side";
    });
}

}  // namespace
}  // namespace waitless::http
