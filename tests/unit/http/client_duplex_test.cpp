// The client's exchange in full duplex, against the project's own server: an early answer (413
// before the body is in) stops the body, an echo streams both ways at once, and a stream dropped
// while its body is being pulled resets its connection.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "unit/http/running_server.hpp"
#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

// Coroutines take what they use as parameters, named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;

char pattern_byte(std::uint64_t i) { return static_cast<char>('a' + (i * 7 + (i >> 10)) % 26); }

// A request body of `total` bytes in 64 KiB pieces, counting what it was asked for; with a
// `pause`, it sleeps on the loop before each piece after the first.
struct counting_source {
    explicit counting_source(std::uint64_t size) : total(size) {}
    std::uint64_t total;
    std::uint64_t produced = 0;
    std::size_t pulls = 0;
    std::chrono::milliseconds pause{0};
    std::string piece;

    io::task<result<std::string_view>> pull() {
        ++pulls;
        if (pause.count() > 0 && produced > 0) co_await io::thread_loop().sleep_for(pause);
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(64 * 1024, total - produced));
        piece.resize(n);
        for (std::size_t i = 0; i < n; ++i) piece[i] = pattern_byte(produced + i);
        produced += n;
        co_return std::string_view(piece);
    }
    body_source as_body(bool with_length) {
        body_source s;
        s.pull = [this] { return pull(); };
        if (with_length) s.length = total;
        return s;
    }
};

client_options short_timeouts() {
    client_options o;
    o.request_timeout = 10s;  // a client that sends all first deadlocks with an echo: fail soon
    o.response_header_timeout = 10s;
    return o;
}

io::task<void> too_large(exchange& ex) {
    (void)ex.start(413, {}, 0);  // at once, without reading the body
    ex.end();
    co_return;
}

io::task<void> echo(exchange& ex) {
    (void)ex.start(200, {}, std::nullopt);
    for (;;) {
        auto piece = co_await ex.read_body();
        if (!piece || piece->empty()) break;
        if (!co_await ex.write(*piece)) co_return;
    }
    ex.end();
}

TEST(ClientDuplex, AnEarlyErrorIsSeenAndTheRestOfTheBodyIsNotSent) {
    running_server rs(too_large);
    const std::string url = "http://127.0.0.1:" + std::to_string(rs.port) + "/upload";
    const std::string origin = "127.0.0.1:" + std::to_string(rs.port);
    constexpr std::uint64_t size = 64ull << 20;
    client c(io::thread_loop(), short_timeouts());
    for (const bool streamed : {false, true}) {
        counting_source source(size);
        client_request r;
        r.method = "POST";
        r.url = url;
        r.source = source.as_body(!streamed);
        const auto began = std::chrono::steady_clock::now();
        int status = 0;
        if (streamed) {
            status = io::block_on([](client& c, const client_request& r) -> io::task<int> {
                auto s = co_await c.stream(r);
                EXPECT_TRUE(s) << s.error().message();
                if (!s) co_return 0;
                auto end = co_await s->next();
                EXPECT_TRUE(end && end->empty());
                co_return s->head().status;
            }(c, r));
        } else {
            auto resp = io::block_on(c.request(r));
            ASSERT_TRUE(resp) << resp.error().message();
            status = resp->status;
        }
        const auto took = std::chrono::steady_clock::now() - began;
        EXPECT_EQ(status, 413);
        EXPECT_LT(took, 2s);
        EXPECT_LT(source.produced, size / 4) << "the rest of the body was not pulled";
    }
    // Neither connection was reused: a third request opens its own.
    client_request get;
    get.url = url;
    auto third = io::block_on(c.request(get));
    ASSERT_TRUE(third) << third.error().message();
    EXPECT_EQ(third->status, 413);
    EXPECT_EQ(c.stats().reused, 0u);
    EXPECT_EQ(c.stats().retries, 0u);
    EXPECT_EQ(c.pool_stats(origin)->created, 3u);
}

struct relayed {
    int status = 0;
    std::uint64_t received = 0;
    std::uint64_t mismatches = 0;
    std::error_code error;
};

io::task<relayed> relay(client& c, const client_request& r) {
    relayed out;
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
        for (char ch : *piece) {
            if (ch != pattern_byte(out.received++)) ++out.mismatches;
        }
    }
    co_return out;
}

TEST(ClientDuplex, AnEchoStreamsBothWaysAtOnce) {
    running_server rs(echo);
    const std::string url = "http://127.0.0.1:" + std::to_string(rs.port) + "/echo";
    constexpr std::uint64_t size = 16ull << 20;  // far more than the socket buffers hold
    client c(io::thread_loop(), short_timeouts());
    for (const bool with_length : {false, true}) {
        counting_source source(size);
        client_request r;
        r.method = "POST";
        r.url = url;
        r.source = source.as_body(with_length);
        const auto got = io::block_on(relay(c, r));
        ASSERT_FALSE(got.error) << got.error.message();
        EXPECT_EQ(got.status, 200);
        EXPECT_EQ(got.received, size);
        EXPECT_EQ(got.mismatches, 0u);
        EXPECT_EQ(source.produced, size);
    }
    EXPECT_EQ(c.stats().requests, 2u);
    EXPECT_EQ(c.stats().failures, 0u);
}

TEST(ClientDuplex, AStreamDroppedWhileItsBodyIsPulledResetsItsConnection) {
    running_server rs(echo);
    const std::string url = "http://127.0.0.1:" + std::to_string(rs.port) + "/echo";
    const std::string origin = "127.0.0.1:" + std::to_string(rs.port);
    client c(io::thread_loop(), short_timeouts());
    counting_source source(1 << 20);
    source.pause = 100ms;
    client_request r;
    r.method = "POST";
    r.url = url;
    r.source = source.as_body(false);
    io::block_on([](client& c, const client_request& r) -> io::task<void> {
        auto s = co_await c.stream(r);  // the echo's head comes with the first piece
        EXPECT_TRUE(s) << s.error().message();
        if (!s) co_return;
        EXPECT_EQ(s->head().status, 200);
        auto piece = co_await s->next();
        EXPECT_TRUE(piece && !piece->empty());
    }(c, r));  // dropped while the second pull sleeps
    const auto pulls = source.pulls;
    EXPECT_EQ(c.stats().closed_reset, 0u) << "the sender is still in its pull";
    io::block_on(io::thread_loop().sleep_for(300ms));  // the pull returns; the sender ends
    EXPECT_EQ(source.pulls, pulls) << "nothing pulled after the drop";
    EXPECT_EQ(c.stats().closed_reset, 1u);
    EXPECT_EQ(c.pool_stats(origin)->size, 0u);
    counting_source empty(0);
    r.source = empty.as_body(false);
    const auto again = io::block_on(relay(c, r));
    EXPECT_FALSE(again.error) << again.error.message();
    EXPECT_EQ(c.pool_stats(origin)->created, 2u)
        << "the dropped stream's connection was not reused";
}

}  // namespace
}  // namespace waitless::http
