// Streaming both ways, as a proxy needs it: the response head reaches the caller before its
// body, the body comes piece by piece, a stream cut short never returns its connection to the
// pool, and a request body can come from a coroutine.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/nginx.hpp"
#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/net/listen.hpp"

// Coroutines take what they use as parameters, named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;

std::string pattern(std::size_t size) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

test::nginx_config with_big_file() {
    test::nginx_config c;
    c.server_block = "location = /hello { return 200 \"hello world\\n\"; }\n";
    return c;
}

struct streamed {
    int status = 0;
    std::string body;
    std::size_t pieces = 0;
    std::error_code error;
};

io::task<streamed> read_all(client& c, const client_request& r) {
    streamed out;
    auto s = co_await c.stream(r);
    if (!s) {
        out.error = s.error();
        co_return out;
    }
    out.status = s->head().status;
    for (;;) {
        auto piece = co_await s->next();
        if (!piece) {
            out.error = piece.error();
            break;
        }
        if (piece->empty()) break;
        out.body.append(*piece);
        ++out.pieces;
    }
    EXPECT_TRUE(s->ended());
    co_return out;
}

TEST(HttpClientStream, ALargeBodyComesInPiecesAndTheConnectionIsReused) {
    WAITLESS_NGINX_OR_SKIP(nginx, with_big_file());
    const std::string big = pattern(4 * 1024 * 1024);
    nginx->write_file("big.bin", big);
    client c(io::thread_loop());
    const std::string url = nginx->base_url() + "/big.bin";
    client_request r;
    r.url = url;
    auto got = io::block_on(read_all(c, r));
    ASSERT_FALSE(got.error) << got.error.message();
    EXPECT_EQ(got.status, 200);
    EXPECT_GT(got.pieces, 10u);
    EXPECT_TRUE(got.body == big);
    auto again = io::block_on(read_all(c, r));
    EXPECT_FALSE(again.error);
    const auto origin = "127.0.0.1:" + std::to_string(nginx->port());
    EXPECT_EQ(c.pool_stats(origin)->created, 1u) << "drained to its end: reused";
    EXPECT_EQ(c.stats().requests, 2u);
}

TEST(HttpClientStream, AStreamCutShortResetsItsConnection) {
    WAITLESS_NGINX_OR_SKIP(nginx, with_big_file());
    nginx->write_file("big.bin", pattern(4 * 1024 * 1024));
    client c(io::thread_loop());
    const std::string url = nginx->base_url() + "/big.bin";
    client_request r;
    r.url = url;
    io::block_on([](client& c, const client_request& r) -> io::task<void> {
        auto s = co_await c.stream(r);
        EXPECT_TRUE(s);
        if (!s) co_return;
        auto piece = co_await s->next();
        EXPECT_TRUE(piece && !piece->empty());
        EXPECT_FALSE(s->ended());
    }(c, r));  // the stream goes with half its body unread
    EXPECT_EQ(c.stats().closed_reset, 1u);
    auto again = io::block_on(read_all(c, r));
    EXPECT_FALSE(again.error);
    const auto origin = "127.0.0.1:" + std::to_string(nginx->port());
    EXPECT_EQ(c.pool_stats(origin)->created, 2u) << "the cut connection was not reused";
}

// Reads one request (Content-Length or chunked body); answers with its head at once and its
// body only once `go` is set; echoes the request body's bytes in a second response.
class slow_server {
  public:
    slow_server() {
        auto l = net::listen(net::endpoint::loopback_v4());
        EXPECT_TRUE(l);
        listener_ = std::move(*l);
        port = net::local_endpoint(listener_.native_handle())->port;
        thread_ = std::jthread([this](std::stop_token stop) { serve(stop); });
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/"; }

    std::uint16_t port = 0;
    std::atomic<bool> go{false};
    // The raw request, read before the answer starts.
    std::string received() {
        std::lock_guard lock(mutex_);
        return received_;
    }

  private:
    // A head and its whole body: chunked up to the last chunk, else Content-Length bytes.
    static bool complete(const std::string& in) {
        const auto end = in.find("\r\n\r\n");
        if (end == std::string::npos) return false;
        if (in.find("chunked") != std::string::npos) {
            return in.find("0\r\n\r\n", end) != std::string::npos;
        }
        const auto field = in.find("Content-Length: ");
        if (field == std::string::npos || field > end) return true;
        const auto length = std::stoul(in.substr(field + 16));
        return in.size() >= end + 4 + length;
    }

    void serve(std::stop_token stop) {
        while (!stop.stop_requested()) {
            auto s = net::accept(listener_.native_handle(), 50ms);
            if (!s) continue;
            std::string in;
            char buf[4096];
            while (!complete(in)) {
                const auto n = ::recv(s->native_handle(), buf, sizeof buf, 0);
                if (n <= 0) break;
                in.append(buf, static_cast<std::size_t>(n));
            }
            {
                std::lock_guard lock(mutex_);
                received_ = in;
            }
            const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
            ::send(s->native_handle(), head.data(), head.size(), MSG_NOSIGNAL);
            while (!go && !stop.stop_requested()) std::this_thread::sleep_for(1ms);
            ::send(s->native_handle(), "hello", 5, MSG_NOSIGNAL);
            while (::recv(s->native_handle(), buf, sizeof buf, 0) > 0) {
            }
        }
    }
    net::socket listener_;
    std::mutex mutex_;
    std::string received_;
    std::jthread thread_;
};

TEST(HttpClientStream, TheHeadArrivesBeforeTheBody) {
    slow_server server;
    client c(io::thread_loop());
    const std::string url = server.url();
    client_request r;
    r.url = url;
    io::block_on([](client& c, const client_request& r, slow_server& server) -> io::task<void> {
        auto s = co_await c.stream(r);  // the body is held back by the server meanwhile
        EXPECT_TRUE(s) << (s ? "" : s.error().message());
        if (!s) co_return;
        EXPECT_EQ(s->head().status, 200);
        EXPECT_EQ(s->head().find("content-length"), "5");
        server.go = true;
        std::string body;
        for (;;) {
            auto piece = co_await s->next();
            EXPECT_TRUE(piece);
            if (!piece || piece->empty()) break;
            body.append(*piece);
        }
        EXPECT_EQ(body, "hello");
    }(c, r, server));
}

// Three pieces, each after a loop turn: a downstream body arriving as a proxy relays it.
struct pulled_body {
    std::vector<std::string> pieces{"first,", "second,", "third"};
    std::size_t next = 0;
    io::task<result<std::string_view>> pull() {
        co_await io::thread_loop().yield();
        if (next == pieces.size()) co_return std::string_view{};
        co_return std::string_view(pieces[next++]);
    }
};

TEST(HttpClientStream, ARequestBodyComesFromACoroutineChunkedOrWithALength) {
    for (const bool with_length : {false, true}) {
        slow_server server;
        server.go = true;
        client c(io::thread_loop());
        const std::string url = server.url();
        pulled_body source;
        client_request r;
        r.method = "POST";
        r.url = url;
        r.source.emplace();
        r.source->pull = [&source] { return source.pull(); };
        if (with_length) r.source->length = std::string("first,second,third").size();
        auto resp = io::block_on(c.request(r));
        ASSERT_TRUE(resp) << resp.error().message();
        EXPECT_EQ(resp->body, "hello");
        EXPECT_EQ(source.next, 3u);
        const auto in = server.received();
        if (with_length) {
            EXPECT_NE(in.find("Content-Length: 18\r\n\r\nfirst,second,third"), std::string::npos)
                << in;
        } else {
            EXPECT_NE(in.find("6\r\nfirst,\r\n7\r\nsecond,\r\n5\r\nthird\r\n0\r\n\r\n"),
                      std::string::npos)
                << in;
        }
    }
}

TEST(HttpClientStream, ABodySourceThatThrowsResetsItsConnectionAndTheErrorReachesTheCaller) {
    slow_server server;
    server.go = true;
    client c(io::thread_loop());
    const std::string url = server.url();
    client_request r;
    r.method = "POST";
    r.url = url;
    r.source.emplace();
    r.source->pull = []() -> io::task<result<std::string_view>> {
        throw std::runtime_error("the source failed");
        co_return std::string_view{};
    };
    std::string what;
    try {
        (void)io::block_on(c.stream(r));
    } catch (const std::runtime_error& e) {
        what = e.what();
    }
    EXPECT_EQ(what, "the source failed");
    EXPECT_EQ(c.stats().closed_reset, 1u) << "a connection in an unknown state is reset";
    client_request get;
    get.url = url;
    auto again = io::block_on(read_all(c, get));
    EXPECT_FALSE(again.error) << again.error.message();
    EXPECT_EQ(again.body, "hello");
    EXPECT_EQ(c.pool_stats("127.0.0.1:" + std::to_string(server.port))->created, 2u);
}

}  // namespace
}  // namespace waitless::http
