// A server that answers before the request body is in (413 and close) has seen the request:
// the client must not replay it, even a replayable PUT on a reused connection.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/net/listen.hpp"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;

// Reads until the end of a head; returns false when the peer closes first.
bool read_head(int fd, std::string& in) {
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return false;
        in.append(buf, static_cast<std::size_t>(n));
    }
    return true;
}

TEST(ClientEarlyResponse, ARequestTheServerAnsweredEarlyIsNotReplayed) {
    auto listener = net::listen(net::endpoint::loopback_v4());
    ASSERT_TRUE(listener);
    const auto port = net::local_endpoint(listener->native_handle())->port;
    std::atomic<int> heads{0};
    std::atomic<int> connections{0};
    std::jthread server([&](std::stop_token stop) {
        while (!stop.stop_requested()) {
            auto s = net::accept(listener->native_handle(), 50ms);
            if (!s) continue;
            ++connections;
            std::string in;
            // The first request (a GET) gets a keep-alive answer: the connection is reused.
            if (!read_head(s->native_handle(), in)) continue;
            ++heads;
            const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            ::send(s->native_handle(), ok.data(), ok.size(), MSG_NOSIGNAL);
            in.erase(0, in.find("\r\n\r\n") + 4);
            // The next one is answered from its head alone, and the connection closed.
            if (!read_head(s->native_handle(), in)) continue;
            ++heads;
            const std::string too_large =
                "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
            ::send(s->native_handle(), too_large.data(), too_large.size(), MSG_NOSIGNAL);
        }
    });

    blocking_client client;
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/upload";
    client_request get;
    get.url = url;
    auto first = client.request(get);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->status, 200);

    const std::string body(8 * 1024 * 1024, 'x');  // far more than the socket buffers hold
    client_request put;
    put.method = "PUT";  // idempotent, with a body in memory: replayable
    put.url = url;
    put.body = body;
    auto second = client.request(put);
    // Whatever the client reports (the 413 or the broken write), it sent the PUT once.
    if (second) {
        EXPECT_EQ(second->status, 413);
    }
    std::this_thread::sleep_for(200ms);  // a replay, if any, would reach the server by now
    EXPECT_EQ(heads.load(), 2);
    EXPECT_EQ(connections.load(), 1);
    EXPECT_EQ(client.stats().retries, 0u);
}

}  // namespace
}  // namespace waitless::http
