// Close policies on loopback: what the peer sees and where each says TIME_WAIT landed.
// (The TIME_WAIT sockets themselves are counted in tests/integration/net_close_test.cpp.)
#include "waitless/net/close.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "loopback_pair.hpp"
#include "waitless/net/error.hpp"
#include "waitless/net/options.hpp"

namespace waitless::net {
namespace {

using namespace std::chrono_literals;

bool wait_readable(int fd, int timeout_ms = 2000) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
}

// What the peer reads after the close: 0 for a FIN, -ECONNRESET for an RST.
int peer_sees(const socket& peer) {
    if (!wait_readable(peer.native_handle())) return -ETIMEDOUT;
    char buffer[64];
    const auto n = ::recv(peer.native_handle(), buffer, sizeof buffer, 0);
    return n < 0 ? -errno : static_cast<int>(n);
}

TEST(NetClose, GracefulFirstLeavesTimeWaitHere) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    auto outcome = close(pair.client, graceful_close{});
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, close_outcome::time_wait_here);
    EXPECT_FALSE(pair.client.is_open());
    EXPECT_EQ(peer_sees(pair.server), 0);
}

TEST(NetClose, GracefulAfterThePeerLeavesTimeWaitThere) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    pair.server.reset();
    EXPECT_EQ(peer_sees(pair.client), 0);
    EXPECT_TRUE(peer_has_closed(pair.client.native_handle()));
    auto outcome = close(pair.client, graceful_close{});
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, close_outcome::time_wait_peer);
}

TEST(NetClose, GracefulWithUnreadBytesBecomesAnRst) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    ASSERT_EQ(::write(pair.server.native_handle(), "unread", 6), 6);
    ASSERT_TRUE(wait_readable(pair.client.native_handle()));
    auto outcome = close(pair.client, graceful_close{});
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, close_outcome::reset);
    EXPECT_EQ(peer_sees(pair.server), -ECONNRESET);
}

TEST(NetClose, AbortiveSendsAnRst) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    auto outcome = close(pair.client, abortive_close{});
    ASSERT_TRUE(outcome) << outcome.error().message();
    EXPECT_EQ(*outcome, close_outcome::reset);
    EXPECT_EQ(peer_sees(pair.server), -ECONNRESET);
}

TEST(NetClose, AbortiveIsRefusedWhileBytesAreUnread) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    ASSERT_EQ(::write(pair.server.native_handle(), "reply", 5), 5);
    ASSERT_TRUE(wait_readable(pair.client.native_handle()));
    EXPECT_EQ(queued(pair.client.native_handle())->unread, 5u);

    auto refused = close(pair.client, abortive_close{});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), errc::data_would_be_lost);
    ASSERT_TRUE(pair.client.is_open()) << "a refused close keeps the socket";

    char buffer[8];
    ASSERT_EQ(::read(pair.client.native_handle(), buffer, sizeof buffer), 5);
    auto outcome = close(pair.client, abortive_close{});
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, close_outcome::reset);
}

// Fills the client's send queue: the server never reads. Bounded by the socket buffers.
void fill_send_queue(const socket& client) {
    ASSERT_TRUE(set_non_blocking(client.native_handle(), true));
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 4096; ++i) {
        if (::send(client.native_handle(), chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) {
            ASSERT_EQ(errno, EAGAIN);
            return;
        }
    }
    FAIL() << "the send queue never filled";
}

TEST(NetClose, AbortiveIsRefusedWhileBytesAreUnsentOrFallsBackToAFin) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    fill_send_queue(pair.client);
    EXPECT_GT(queued(pair.client.native_handle())->unsent, 0u);

    auto refused = close(pair.client, abortive_close{});
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), errc::data_would_be_lost);
    ASSERT_TRUE(pair.client.is_open());

    auto outcome = close(pair.client, abortive_close{on_pending_data::close_gracefully});
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, close_outcome::time_wait_here);
    // The bytes still arrive: the server reads data, not a reset.
    EXPECT_GT(peer_sees(pair.server), 0);
}

TEST(NetClose, ArmedAbortiveCloseMakesAPlainCloseAnRst) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    ASSERT_TRUE(arm_abortive_close(pair.client.native_handle()));
    pair.client.reset();
    EXPECT_EQ(peer_sees(pair.server), -ECONNRESET);

    auto other = test::make_loopback_pair();
    ASSERT_TRUE(other.ok());
    ASSERT_EQ(::write(other.server.native_handle(), "x", 1), 1);
    ASSERT_TRUE(wait_readable(other.client.native_handle()));
    EXPECT_EQ(arm_abortive_close(other.client.native_handle()).error(), errc::data_would_be_lost);
}

TEST(NetClose, PeerFirstLetsThePeerHoldTheTimeWait) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    // The peer closes once it has read the request to close.
    std::thread peer([&] {
        char buffer[16];
        if (::read(pair.server.native_handle(), buffer, sizeof buffer) > 0) pair.server.reset();
    });
    bool asked = false;
    peer_first_close policy{[&](int fd) -> result<void> {
                                asked = true;
                                if (::write(fd, "bye", 3) != 3) {
                                    return std::unexpected(last_system_error());
                                }
                                return {};
                            },
                            2s};
    auto outcome = close(pair.client, policy);
    peer.join();
    ASSERT_TRUE(outcome);
    EXPECT_TRUE(asked);
    EXPECT_EQ(*outcome, close_outcome::time_wait_peer);
}

TEST(NetClose, PeerFirstFallsBackToAbortiveWhenThePeerStaysSilent) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    const auto start = std::chrono::steady_clock::now();
    auto outcome =
        close(pair.client, peer_first_close{[](int) -> result<void> { return {}; }, 100ms});
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, close_outcome::reset);
    EXPECT_GE(took, 95ms);
    EXPECT_LT(took, 1s);
    EXPECT_EQ(peer_sees(pair.server), -ECONNRESET);
}

TEST(NetClose, PeerFirstDoesNotWaitWhenTheRequestFails) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    const auto start = std::chrono::steady_clock::now();
    auto outcome = close(
        pair.client,
        peer_first_close{
            [](int) -> result<void> { return std::unexpected(make_error_code(errc::stale)); }, 5s});
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, close_outcome::reset);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(NetClose, PeerFirstWithoutARequestOnlyWaits) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    std::thread peer([&] {
        std::this_thread::sleep_for(50ms);
        pair.server.reset();
    });
    auto outcome = close(pair.client, peer_first_close{{}, 2s});
    peer.join();
    ASSERT_TRUE(outcome);
    EXPECT_EQ(*outcome, close_outcome::time_wait_peer);
}

TEST(NetClose, PeerFirstSkipsTheRequestWhenThePeerClosedAlready) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    pair.server.reset();
    ASSERT_TRUE(wait_readable(pair.client.native_handle()));
    bool asked = false;
    auto outcome = close(pair.client, peer_first_close{[&](int) -> result<void> {
                             asked = true;
                             return {};
                         }});
    ASSERT_TRUE(outcome);
    EXPECT_FALSE(asked);
    EXPECT_EQ(*outcome, close_outcome::time_wait_peer);
}

TEST(NetClose, UnixSocketsHaveNoTimeWait) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    socket a{fds[0]};
    socket b{fds[1]};
    EXPECT_EQ(close(a, graceful_close{}).value(), close_outcome::not_tcp);
    EXPECT_EQ(close(b, abortive_close{}).value(), close_outcome::not_tcp);
}

TEST(NetClose, AnEmptySocketIsNotOpen) {
    socket empty;
    EXPECT_EQ(close(empty, graceful_close{}).error(), errc::not_open);
    EXPECT_EQ(close_native(-1, abortive_close{}).error(), errc::not_open);
}

}  // namespace
}  // namespace waitless::net
