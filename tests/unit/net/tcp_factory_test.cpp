// The pooled-connection factory called directly, as any pool would call it.
#include "waitless/net/tcp_factory.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <vector>

#include "loopback_pair.hpp"

namespace waitless::net {
namespace {

using namespace std::chrono_literals;

struct NetTcpFactory : ::testing::Test {
    void SetUp() override {
        auto l = listen(endpoint::loopback_v4());
        ASSERT_TRUE(l);
        listener = std::move(*l);
    }
    tcp_factory_options options() const {
        tcp_factory_options o;
        o.remote = endpoint::loopback_v4(test::port_of(listener));
        return o;
    }
    socket accept_one() const {
        auto s = accept(listener.native_handle(), 2s);
        EXPECT_TRUE(s);
        return s ? std::move(*s) : socket{};
    }
    socket listener;
};

bool wait_readable(const socket& s) {
    pollfd p{s.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 2000) == 1;
}

TEST_F(NetTcpFactory, CreatesConnectionsWithTheOptions) {
    auto o = options();
    o.connect.keepalive = keepalive_options{15s, 5s, 3};
    tcp_connection_factory factory(o);
    auto c = factory.create();
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(remote_endpoint(c->native_handle())->port, test::port_of(listener));
    int idle = 0;
    socklen_t length = sizeof idle;
    ASSERT_EQ(::getsockopt(c->native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle, &length), 0);
    EXPECT_EQ(idle, 15);
    EXPECT_EQ(factory.stats().created, 1u);
}

TEST_F(NetTcpFactory, SpreadsCreatesOverTheSources) {
    auto o = options();
    for (const char* ip : {"127.0.0.1", "127.0.0.2", "127.0.0.3"}) {
        o.connect.source_addresses.push_back(*core::ip_address::parse(ip));
    }
    tcp_connection_factory factory(o);
    std::vector<socket> open;
    std::set<std::string> sources;
    for (int i = 0; i < 3; ++i) {
        auto c = factory.create();
        ASSERT_TRUE(c);
        sources.insert(local_endpoint(c->native_handle())->address.to_string());
        open.push_back(std::move(*c));
    }
    EXPECT_EQ(sources.size(), 3u);
}

TEST_F(NetTcpFactory, CountsFailedCreates) {
    auto o = options();
    listener.reset();  // nobody listens any more
    tcp_connection_factory factory(o);
    auto c = factory.create();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), std::errc::connection_refused);
    EXPECT_EQ(factory.stats().create_failures, 1u);
    EXPECT_EQ(factory.stats().created, 0u);
}

TEST_F(NetTcpFactory, ValidateTellsStaleFromAlive) {
    tcp_connection_factory factory(options());
    auto alive = factory.create();
    auto fin = factory.create();
    auto rst = factory.create();
    auto chatty = factory.create();
    ASSERT_TRUE(alive && fin && rst && chatty);
    auto alive_peer = accept_one();
    auto fin_peer = accept_one();
    auto rst_peer = accept_one();
    auto chatty_peer = accept_one();

    fin_peer.reset();
    ASSERT_TRUE(close(rst_peer, abortive_close{}));
    ASSERT_EQ(::write(chatty_peer.native_handle(), "?", 1), 1);
    ASSERT_TRUE(wait_readable(*fin) && wait_readable(*rst) && wait_readable(*chatty));

    EXPECT_TRUE(factory.validate(*alive));
    EXPECT_FALSE(factory.validate(*fin));
    EXPECT_FALSE(factory.validate(*rst));
    EXPECT_FALSE(factory.validate(*chatty));
    socket empty;
    EXPECT_FALSE(factory.validate(empty));
    const auto stats = factory.stats();
    EXPECT_EQ(stats.stale_peer_closed, 1u);
    EXPECT_EQ(stats.stale_reset, 1u);
    EXPECT_EQ(stats.stale_unexpected_data, 1u);
}

TEST_F(NetTcpFactory, DestroyResetsAnIdleConnection) {
    tcp_connection_factory factory(options());
    auto c = factory.create();
    ASSERT_TRUE(c);
    auto peer = accept_one();
    factory.destroy(*c);
    EXPECT_FALSE(c->is_open());
    ASSERT_TRUE(wait_readable(peer));
    char byte;
    EXPECT_EQ(::recv(peer.native_handle(), &byte, 1, 0), -1);
    EXPECT_EQ(errno, ECONNRESET);
    EXPECT_EQ(factory.stats().closed_reset, 1u);
}

TEST_F(NetTcpFactory, DestroyKeepsUnsentBytesEvenWhenTheAbortivePolicyRefuses) {
    auto o = options();
    o.on_destroy = abortive_close{on_pending_data::refuse};
    tcp_connection_factory factory(o);
    auto c = factory.create();
    ASSERT_TRUE(c);
    auto peer = accept_one();
    ASSERT_TRUE(set_non_blocking(c->native_handle(), true));
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 4096; ++i) {
        if (::send(c->native_handle(), chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) break;
    }
    ASSERT_GT(queued(c->native_handle())->unsent, 0u);
    factory.destroy(*c);
    EXPECT_FALSE(c->is_open());
    EXPECT_EQ(factory.stats().closed_time_wait_here, 1u);
    ASSERT_TRUE(wait_readable(peer));
    char buffer[16];
    EXPECT_GT(::recv(peer.native_handle(), buffer, sizeof buffer, 0), 0) << "bytes, not a reset";
}

TEST_F(NetTcpFactory, CopiesShareTheirCounts) {
    tcp_connection_factory factory(options());
    const tcp_connection_factory copy =
        factory;  // NOLINT(performance-unnecessary-copy-initialization)
    auto c = factory.create();
    ASSERT_TRUE(c);
    EXPECT_EQ(copy.stats().created, 1u);
    EXPECT_EQ(copy.options().remote, factory.options().remote);
}

}  // namespace
}  // namespace waitless::net
