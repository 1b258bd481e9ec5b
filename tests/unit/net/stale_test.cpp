// The stale check: a non-blocking peek tells alive, FIN, RST and stray bytes apart.
#include "waitless/net/stale.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loopback_pair.hpp"
#include "waitless/net/close.hpp"
#include "waitless/net/error.hpp"

namespace waitless::net {
namespace {

void wait_readable(const socket& s) {
    pollfd p{s.native_handle(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
}

TEST(NetStale, AnIdleConnectionIsAlive) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    EXPECT_EQ(check_liveness(pair.client.native_handle()), liveness::alive);
    EXPECT_TRUE(check_reusable(pair.client.native_handle()));
}

TEST(NetStale, APeerFinIsSeen) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    pair.server.reset();
    wait_readable(pair.client);
    EXPECT_EQ(check_liveness(pair.client.native_handle()), liveness::peer_closed);
    EXPECT_EQ(check_reusable(pair.client.native_handle()).error(), errc::stale);
}

TEST(NetStale, APeerRstIsSeen) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    ASSERT_EQ(close(pair.server, abortive_close{}).value(), close_outcome::reset);
    wait_readable(pair.client);
    EXPECT_EQ(check_liveness(pair.client.native_handle()), liveness::reset);
    // The error is consumed by the first look, and the socket stays unusable after it.
    EXPECT_NE(check_liveness(pair.client.native_handle()), liveness::alive);
}

TEST(NetStale, BytesNobodyAskedForMakeItUnusable) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    ASSERT_EQ(::write(pair.server.native_handle(), "?", 1), 1);
    wait_readable(pair.client);
    EXPECT_EQ(check_liveness(pair.client.native_handle()), liveness::unexpected_data);
    EXPECT_FALSE(check_reusable(pair.client.native_handle()));
    // The peek consumed nothing.
    EXPECT_EQ(queued(pair.client.native_handle())->unread, 1u);
}

TEST(NetStale, NeverBlocksOnABlockingSocket) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) check_liveness(pair.client.native_handle());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST(NetStale, AClosedDescriptorIsNotAlive) { EXPECT_EQ(check_liveness(-1), liveness::reset); }

}  // namespace
}  // namespace waitless::net
