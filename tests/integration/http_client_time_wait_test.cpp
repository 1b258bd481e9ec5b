// TIME_WAIT and the client, counted by the census in a private namespace: retirement (max_uses)
// lets nginx close first, idle eviction resets; neither leaves TIME_WAIT on the client.
#include <gtest/gtest.h>

#include <thread>

#include "support/netns.hpp"
#include "support/nginx.hpp"
#include "waitless/census/census.hpp"
#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

// Coroutine lambdas take what they use as parameters (a capture would dangle once the lambda
// object is gone), named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

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

io::task<void> get_some(client& c, const std::string& url, int count, int& ok, int& done) {
    for (int i = 0; i < count; ++i) {
        client_request r;
        r.url = url;
        auto resp = co_await c.request(r);
        if (resp && resp->status == 200) ++ok;
    }
    ++done;
}

// Runs `count` requests, `parallel` at a time, on this thread's loop.
void run_requests(client& c, const std::string& url, int count, int parallel) {
    int ok = 0;
    io::block_on(
        [](client& c, const std::string& url, int count, int parallel, int& ok) -> io::task<void> {
            int done = 0;
            for (int k = 0; k < parallel; ++k)
                io::spawn(get_some(c, url, count / parallel, ok, done));
            while (done < parallel) co_await io::thread_loop().sleep_for(1ms);
        }(c, url, count, parallel, ok));
    EXPECT_EQ(ok, count / parallel * parallel);
}

// Runs this thread's loop (the client's timers and closes) until done() or 3 s.
template <class Done>
void wait_for(Done done) {
    io::block_on([](Done& done) -> io::task<void> {
        for (int i = 0; i < 300 && !done(); ++i) co_await io::thread_loop().sleep_for(10ms);
    }(done));
}

TEST(HttpClientTimeWait, RetirementByMaxUsesLeavesTheTimeWaitOnTheServer) {
    WAITLESS_NETNS_OR_SKIP(ns);
    WAITLESS_NGINX_OR_SKIP(nginx, hello_in(*ns));
    ns->run([&] {
        client_options o;
        o.max_uses = 5;
        auto c = std::make_unique<client>(io::thread_loop(), o);
        run_requests(*c, nginx->base_url() + "/hello", 100, 4);
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
        client c(io::thread_loop(), o);
        run_requests(c, nginx->base_url() + "/hello", 200, 10);
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
