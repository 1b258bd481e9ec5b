// The HTTP/1.1 client against a real nginx: keep-alive reuse, framings, HEAD, 204, streamed and
// limited bodies, the server's Connection: close, the stale check, and the blocking face.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/nginx.hpp"
#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

// Coroutine lambdas take what they use as parameters (a capture would dangle once the lambda
// object is gone), named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;

const std::string hello_locations =
    "location = /hello { return 200 \"hello world\\n\"; }\n"
    "location = /empty { return 204; }\n"
    "location /ssi/ { ssi on; ssi_types text/plain; }\n";

test::nginx_config served(std::string http_block = "") {
    test::nginx_config c;
    c.server_block = hello_locations;
    c.http_block = std::move(http_block);
    return c;
}

// A request that owns its URL (client_request only views it). Not to be moved.
struct owned_request {
    explicit owned_request(std::string u, std::string_view method = "GET") : url(std::move(u)) {
        r.url = url;
        r.method = method;
    }
    owned_request(const owned_request&) = delete;
    std::string url;
    client_request r;
};

std::string origin_of(const test::nginx_server& n) {
    return "127.0.0.1:" + std::to_string(n.port());
}

std::string pattern(std::size_t size) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

TEST(HttpClientNginx, KeepAliveReusesOneConnectionForSequentialRequests) {
    WAITLESS_NGINX_OR_SKIP(nginx, served("keepalive_requests 10000;"));
    client c(io::thread_loop());
    const std::string url = nginx->base_url() + "/hello";
    for (int i = 0; i < 100; ++i) {
        owned_request r(url);
        auto resp = io::block_on(c.request(r.r));
        ASSERT_TRUE(resp) << resp.error().message();
        EXPECT_EQ(resp->status, 200);
        EXPECT_EQ(resp->body, "hello world\n");
    }
    auto ps = c.pool_stats(origin_of(*nginx));
    ASSERT_TRUE(ps);
    EXPECT_EQ(ps->created, 1u);
    EXPECT_EQ(ps->acquired, 100u);
    const auto st = c.stats();
    EXPECT_EQ(st.requests, 100u);
    EXPECT_EQ(st.reused, 99u);
    EXPECT_EQ(st.retries, 0u);
}

TEST(HttpClientNginx, ContentLengthAndChunkedBodies) {
    WAITLESS_NGINX_OR_SKIP(nginx, served());
    std::filesystem::create_directories(nginx->root() + "/ssi");
    const std::string body = pattern(100000);
    nginx->write_file("plain.txt", body);
    nginx->write_file("ssi/chunked.txt", body);
    client c(io::thread_loop());
    owned_request plain(nginx->base_url() + "/plain.txt");
    auto a = io::block_on(c.request(plain.r));
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(a->find("content-length"), "100000");
    EXPECT_EQ(a->body, body);
    owned_request chunked(nginx->base_url() + "/ssi/chunked.txt");
    auto b = io::block_on(c.request(chunked.r));
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(b->find("transfer-encoding"), "chunked");
    EXPECT_EQ(b->body, body);
    EXPECT_EQ(c.pool_stats(origin_of(*nginx))->created, 1u) << "both on one connection";
}

TEST(HttpClientNginx, HeadAnd204HaveNoBodyAndKeepTheConnection) {
    WAITLESS_NGINX_OR_SKIP(nginx, served());
    nginx->write_file("file.txt", pattern(5000));
    client c(io::thread_loop());
    owned_request head(nginx->base_url() + "/file.txt", "HEAD");
    auto h = io::block_on(c.request(head.r));
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(h->status, 200);
    EXPECT_EQ(h->find("content-length"), "5000");
    EXPECT_TRUE(h->body.empty());
    owned_request empty(nginx->base_url() + "/empty");
    auto e = io::block_on(c.request(empty.r));
    ASSERT_TRUE(e) << e.error().message();
    EXPECT_EQ(e->status, 204);
    EXPECT_TRUE(e->body.empty());
    owned_request get_file(nginx->base_url() + "/file.txt");
    auto g = io::block_on(c.request(get_file.r));
    ASSERT_TRUE(g) << g.error().message();
    EXPECT_EQ(g->body.size(), 5000u);
    EXPECT_EQ(c.pool_stats(origin_of(*nginx))->created, 1u);
}

TEST(HttpClientNginx, LargeBodiesStreamInPiecesOrFailPastTheLimit) {
    WAITLESS_NGINX_OR_SKIP(nginx, served());
    std::filesystem::create_directories(nginx->root() + "/ssi");
    const std::string big = pattern(8 * 1024 * 1024);
    nginx->write_file("big.bin", big);
    nginx->write_file("ssi/big.txt", big);
    client_options o;
    o.max_response_body = 1024 * 1024;
    client c(io::thread_loop(), o);
    for (const char* path : {"/big.bin", "/ssi/big.txt"}) {
        std::size_t bytes = 0;
        std::size_t pieces = 0;
        bool same = true;
        owned_request r(nginx->base_url() + path);
        auto s = io::block_on(c.request(r.r, [&](std::string_view piece) -> result<void> {
            same = same && big.compare(bytes, piece.size(), piece) == 0;
            bytes += piece.size();
            ++pieces;
            return {};
        }));
        ASSERT_TRUE(s) << path << ": " << s.error().message();
        EXPECT_EQ(bytes, big.size()) << path;
        EXPECT_TRUE(same) << path;
        EXPECT_GT(pieces, 10u) << path << ": delivered in pieces, not collected";
        EXPECT_TRUE(s->body.empty());
        // Collected, the same body passes max_response_body.
        auto limited = io::block_on(c.request(r.r));
        ASSERT_FALSE(limited) << path;
        EXPECT_EQ(limited.error(), client_errc::body_too_large) << path;
    }
    // The connections cut short were reset; a new one serves the next request.
    owned_request hello(nginx->base_url() + "/hello");
    auto after = io::block_on(c.request(hello.r));
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_EQ(after->body, "hello world\n");
}

TEST(HttpClientNginx, ConnectionCloseFromTheServerIsHandled) {
    // Every third response says Connection: close and nginx closes first.
    WAITLESS_NGINX_OR_SKIP(nginx, served("keepalive_requests 3;"));
    client c(io::thread_loop());
    owned_request r(nginx->base_url() + "/hello");
    for (int i = 0; i < 10; ++i) {
        auto resp = io::block_on(c.request(r.r));
        ASSERT_TRUE(resp) << i << ": " << resp.error().message();
        EXPECT_EQ(resp->find("connection"), i % 3 == 2 ? "close" : "keep-alive") << i;
    }
    EXPECT_EQ(c.pool_stats(origin_of(*nginx))->created, 4u);
    EXPECT_EQ(c.stats().retries, 0u);
    EXPECT_EQ(c.stats().failures, 0u);
    for (int i = 0; i < 200 && c.stats().closed_time_wait_peer < 3; ++i) {
        io::block_on(io::thread_loop().sleep_for(10ms));  // the closes run on the loop
    }
    EXPECT_EQ(c.stats().closed_time_wait_peer, 3u) << "the server's FIN came first each time";
    EXPECT_EQ(c.stats().closed_time_wait_here, 0u);
}

TEST(HttpClientNginx, AnIdleConnectionTheServerClosedIsNotReused) {
    WAITLESS_NGINX_OR_SKIP(nginx, served("keepalive_timeout 1s;"));
    client_options o;
    o.keep_alive_margin = 0ms;
    client c(io::thread_loop(), o);
    owned_request r(nginx->base_url() + "/hello");
    ASSERT_TRUE(io::block_on(c.request(r.r)));
    std::this_thread::sleep_for(1500ms);
    auto again = io::block_on(c.request(r.r));
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(c.stats().stale, 1u) << "found closed by the check before reuse";
    EXPECT_EQ(c.stats().retries, 0u);
    EXPECT_EQ(c.pool_stats(origin_of(*nginx))->created, 2u);
}

TEST(HttpClientNginx, BlockingFaceFromSeveralThreads) {
    WAITLESS_NGINX_OR_SKIP(nginx, served("keepalive_requests 10000;"));
    client_options o;
    o.max_connections_per_origin = 4;
    blocking_client c(o);
    const std::string url = nginx->base_url() + "/hello";
    std::atomic<int> ok{0};
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                owned_request r(url);
                auto resp = c.request(r.r);
                if (resp && resp->body == "hello world\n") ++ok;
            }
        });
    }
    threads.clear();
    EXPECT_EQ(ok.load(), 200);
    EXPECT_LE(c.pool_stats(origin_of(*nginx))->created, 4u);
    EXPECT_EQ(c.stats().requests, 200u);
}

// `count` requests one after another; a coroutine's arguments live in its frame.
io::task<void> get_hello(client& c, const std::string& url, int count, int& ok, int& done) {
    for (int i = 0; i < count; ++i) {
        owned_request r(url);
        auto resp = co_await c.request(r.r);
        if (resp && resp->status == 200) ++ok;
    }
    ++done;
}

TEST(HttpClientNginx, ConcurrentCoroutinesShareThePool) {
    WAITLESS_NGINX_OR_SKIP(nginx, served("keepalive_requests 10000;"));
    client_options o;
    o.max_connections_per_origin = 8;
    client c(io::thread_loop(), o);
    const std::string url = nginx->base_url() + "/hello";
    int ok = 0;
    io::block_on([](client& c, const std::string& url, int& ok) -> io::task<void> {
        int done = 0;
        for (int k = 0; k < 20; ++k) io::spawn(get_hello(c, url, 25, ok, done));
        while (done < 20) co_await io::thread_loop().sleep_for(1ms);
    }(c, url, ok));
    EXPECT_EQ(ok, 500);
    EXPECT_LE(c.pool_stats(origin_of(*nginx))->created, 8u);
}

}  // namespace
}  // namespace waitless::http
