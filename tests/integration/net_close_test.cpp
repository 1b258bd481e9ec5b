// Close policies against the kernel's own count: where each leaves its TIME_WAIT, read with the
// census inside a private network namespace so no other traffic on the host can disturb counts.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <thread>
#include <vector>

#include "support/netns.hpp"
#include "waitless/census/census.hpp"
#include "waitless/net/close.hpp"
#include "waitless/net/connect.hpp"
#include "waitless/net/error.hpp"
#include "waitless/net/listen.hpp"

namespace waitless::net {
namespace {

using namespace std::chrono_literals;

std::uint16_t port_of(const socket& s) { return local_endpoint(s.native_handle())->port; }

// The census once `done` holds for it, or the last one after 3 s.
census::snapshot snapshot_when(const std::function<bool(const census::snapshot&)>& done) {
    census::snapshot last;
    for (int i = 0; i < 60; ++i) {
        auto taken = census::take_snapshot();
        EXPECT_TRUE(taken) << taken.error().message();
        if (!taken) return last;
        last = std::move(*taken);
        if (done(last)) break;
        std::this_thread::sleep_for(50ms);
    }
    return last;
}

// What the peer reads after a close: 0 for a FIN, -ECONNRESET for an RST.
int peer_sees(const socket& peer) {
    pollfd p{peer.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return -ETIMEDOUT;
    char buffer[64];
    const auto n = ::recv(peer.native_handle(), buffer, sizeof buffer, 0);
    return n < 0 ? -errno : static_cast<int>(n);
}

struct connection {
    socket client;
    socket server;
};

std::vector<connection> open_connections(const socket& listener, int count) {
    std::vector<connection> out;
    for (int i = 0; i < count; ++i) {
        auto c = connect(endpoint::loopback_v4(port_of(listener)));
        EXPECT_TRUE(c) << c.error().message();
        auto s = accept(listener.native_handle(), 2s);
        EXPECT_TRUE(s);
        if (!c || !s) break;
        out.push_back({std::move(*c), std::move(*s)});
    }
    return out;
}

constexpr int connections = 10;

TEST(NetCloseTimeWait, GracefulClientFirstLeavesTimeWaitOnTheClient) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        for (auto& c : open_connections(*listener, connections)) {
            ASSERT_EQ(close(c.client, graceful_close{}).value(), close_outcome::time_wait_here);
            ASSERT_EQ(peer_sees(c.server), 0);
            ASSERT_EQ(close(c.server, graceful_close{}).value(), close_outcome::time_wait_peer);
        }
        const auto s =
            snapshot_when([](const auto& snap) { return snap.time_wait >= connections; });
        EXPECT_EQ(s.time_wait, connections);
        EXPECT_EQ(s.time_wait_client, connections);
        EXPECT_EQ(s.time_wait_server, 0u);
        ASSERT_EQ(s.destinations.size(), 1u);
        EXPECT_EQ(s.destinations[0].remote_port, port_of(*listener));
        EXPECT_EQ(s.destinations[0].time_wait, connections);
    });
}

TEST(NetCloseTimeWait, GracefulServerFirstLeavesTimeWaitOnTheServer) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        for (auto& c : open_connections(*listener, connections)) {
            ASSERT_EQ(close(c.server, graceful_close{}).value(), close_outcome::time_wait_here);
            ASSERT_EQ(peer_sees(c.client), 0);
            ASSERT_EQ(close(c.client, graceful_close{}).value(), close_outcome::time_wait_peer);
        }
        const auto s =
            snapshot_when([](const auto& snap) { return snap.time_wait >= connections; });
        EXPECT_EQ(s.time_wait, connections);
        EXPECT_EQ(s.time_wait_server, connections);
        EXPECT_EQ(s.time_wait_client, 0u);
        ASSERT_EQ(s.listeners.size(), 1u);
        EXPECT_EQ(s.listeners[0].time_wait, connections);
    });
}

TEST(NetCloseTimeWait, AbortiveLeavesNoTimeWaitAnywhere) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        for (auto& c : open_connections(*listener, connections)) {
            ASSERT_EQ(close(c.client, abortive_close{}).value(), close_outcome::reset);
            ASSERT_EQ(peer_sees(c.server), -ECONNRESET);
            // The server's close after the RST sends nothing: the connection is gone already.
            ASSERT_TRUE(close(c.server, graceful_close{}));
        }
        const auto s = snapshot_when(
            [](const auto& snap) { return snap.count(census::tcp_state::established) == 0; });
        EXPECT_EQ(s.time_wait, 0u);
        EXPECT_EQ(s.count(census::tcp_state::fin_wait2), 0u);
        EXPECT_EQ(s.count(census::tcp_state::listen), 1u);
    });
}

TEST(NetCloseTimeWait, CloseWithResetAsksNothingAndLeavesNoTimeWait) {
    // The server's path once its response is acknowledged: unread bytes from the peer do not
    // stop the RST (they go with it), and no side keeps a TIME_WAIT.
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        for (auto& c : open_connections(*listener, connections)) {
            ASSERT_EQ(::send(c.client.native_handle(), "more", 4, MSG_NOSIGNAL), 4);
            ASSERT_EQ(close_with_reset(c.server.release()).value(), close_outcome::reset);
            ASSERT_EQ(peer_sees(c.client), -ECONNRESET);
        }
        const auto s = snapshot_when(
            [](const auto& snap) { return snap.count(census::tcp_state::established) == 0; });
        EXPECT_EQ(s.time_wait, 0u);
        EXPECT_EQ(s.count(census::tcp_state::listen), 1u);
    });
}

TEST(NetCloseTimeWait, RefusedAbortiveCloseLeavesTheConnectionUp) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        auto opened = open_connections(*listener, 1);
        ASSERT_EQ(opened.size(), 1u);
        auto& c = opened[0];
        ASSERT_EQ(::write(c.server.native_handle(), "unread", 6), 6);
        pollfd p{c.client.native_handle(), POLLIN, 0};
        ASSERT_EQ(::poll(&p, 1, 2000), 1);
        auto refused = close(c.client, abortive_close{});
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error(), errc::data_would_be_lost);
        const auto s = census::take_snapshot();
        ASSERT_TRUE(s);
        EXPECT_EQ(s->count(census::tcp_state::established), 2u);  // both ends, still up
        EXPECT_EQ(s->time_wait, 0u);
    });
}

TEST(NetCloseTimeWait, PeerFirstMovesTheTimeWaitToThePeer) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        for (auto& c : open_connections(*listener, connections)) {
            // The "protocol": the server closes when it reads "close".
            std::thread server([&] {
                char buffer[8];
                if (::read(c.server.native_handle(), buffer, sizeof buffer) > 0) {
                    (void)close(c.server, graceful_close{});
                }
            });
            const peer_first_close policy{[](int fd) -> result<void> {
                                              if (::write(fd, "close", 5) == 5) return {};
                                              return std::unexpected(last_system_error());
                                          },
                                          2s};
            auto outcome = close(c.client, policy);
            server.join();
            ASSERT_TRUE(outcome);
            EXPECT_EQ(*outcome, close_outcome::time_wait_peer);
        }
        const auto s =
            snapshot_when([](const auto& snap) { return snap.time_wait >= connections; });
        EXPECT_EQ(s.time_wait, connections);
        EXPECT_EQ(s.time_wait_server, connections);
        EXPECT_EQ(s.time_wait_client, 0u) << "the client, which would run out of ports, has none";
    });
}

TEST(NetCloseTimeWait, PeerFirstWithASilentPeerFallsBackToNoTimeWait) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        auto opened = open_connections(*listener, 3);
        for (auto& c : opened) {
            auto outcome =
                close(c.client, peer_first_close{[](int) -> result<void> { return {}; }, 50ms});
            ASSERT_TRUE(outcome);
            EXPECT_EQ(*outcome, close_outcome::reset);
            EXPECT_EQ(peer_sees(c.server), -ECONNRESET);
        }
        const auto s = snapshot_when(
            [](const auto& snap) { return snap.count(census::tcp_state::established) == 0; });
        EXPECT_EQ(s.time_wait, 0u);
    });
}

}  // namespace
}  // namespace waitless::net
