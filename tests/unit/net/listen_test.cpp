// Listeners: SO_REUSEPORT, accept with a bounded wait, Unix sockets.
#include "waitless/net/listen.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "loopback_pair.hpp"
#include "waitless/net/close.hpp"
#include "waitless/net/error.hpp"

namespace waitless::net {
namespace {

using namespace std::chrono_literals;

TEST(NetListen, PortZeroGetsAPortFromTheKernel) {
    auto listener = listen(endpoint::loopback_v4());
    ASSERT_TRUE(listener);
    EXPECT_NE(test::port_of(*listener), 0);
}

TEST(NetListen, TwoReusePortListenersShareOnePort) {
    const listen_options options{.reuse_port = true};
    auto first = listen(endpoint::loopback_v4(), options);
    ASSERT_TRUE(first);
    const auto port = test::port_of(*first);
    auto second = listen(endpoint::loopback_v4(port), options);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_EQ(test::port_of(*second), port);

    // The kernel spreads connections over both by hash: every one is accepted by one of them.
    std::vector<socket> clients;
    int accepted = 0;
    for (int i = 0; i < 16; ++i) {
        auto c = connect(endpoint::loopback_v4(port));
        ASSERT_TRUE(c);
        clients.push_back(std::move(*c));
    }
    for (const auto* l : {&*first, &*second}) {
        while (accept(l->native_handle(), 100ms)) ++accepted;
    }
    EXPECT_EQ(accepted, 16);
}

TEST(NetListen, AcceptedSocketsInheritTheListenersNodelay) {
    // The server sets TCP_NODELAY once on its listener and never per connection: this is the
    // kernel behaviour it counts on.
    for (const bool nodelay : {false, true}) {
        auto listener = listen(endpoint::loopback_v4(), listen_options{.nodelay = nodelay});
        ASSERT_TRUE(listener);
        auto client = connect(endpoint::loopback_v4(test::port_of(*listener)));
        ASSERT_TRUE(client);
        auto accepted = accept(listener->native_handle(), 1s);
        ASSERT_TRUE(accepted);
        int value = -1;
        socklen_t length = sizeof value;
        ASSERT_EQ(
            ::getsockopt(accepted->native_handle(), IPPROTO_TCP, TCP_NODELAY, &value, &length), 0);
        EXPECT_EQ(value != 0, nodelay);
    }
}

TEST(NetListen, AcceptedSocketsInheritTheListenersLingerUntilCleared) {
    // The server resets loopback connections with no setsockopt per connection, counting on
    // this; set_reset_on_close(fd, false) turns a FIN back on where one is due.
    for (const bool reset : {false, true}) {
        auto listener = listen(endpoint::loopback_v4(), listen_options{.reset_on_close = reset});
        ASSERT_TRUE(listener);
        auto client = connect(endpoint::loopback_v4(test::port_of(*listener)));
        ASSERT_TRUE(client);
        auto accepted = accept(listener->native_handle(), 1s);
        ASSERT_TRUE(accepted);
        const auto linger_of = [&] {
            linger value{-1, -1};
            socklen_t length = sizeof value;
            EXPECT_EQ(
                ::getsockopt(accepted->native_handle(), SOL_SOCKET, SO_LINGER, &value, &length), 0);
            return value;
        };
        EXPECT_EQ(linger_of().l_onoff != 0, reset);
        EXPECT_EQ(linger_of().l_linger, 0);
        ASSERT_TRUE(set_reset_on_close(accepted->native_handle(), false));
        EXPECT_EQ(linger_of().l_onoff, 0);
    }
}

TEST(NetListen, WithoutReusePortASecondListenerIsRefused) {
    auto first = listen(endpoint::loopback_v4());
    ASSERT_TRUE(first);
    auto second = listen(endpoint::loopback_v4(test::port_of(*first)));
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), std::errc::address_in_use);
}

TEST(NetListen, AcceptWaitsNoLongerThanAsked) {
    auto listener = listen(endpoint::loopback_v4());
    ASSERT_TRUE(listener);
    const auto start = std::chrono::steady_clock::now();
    auto s = accept(listener->native_handle(), 50ms);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), errc::accept_timeout);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);
    EXPECT_EQ(accept(-1).error(), errc::not_open);
}

// A socket file path unique to this process, removed at the end of the test.
struct unix_path {
    std::string path = "/tmp/waitless-net-test-" + std::to_string(::getpid()) + ".sock";
    unix_path() { ::unlink(path.c_str()); }
    ~unix_path() { ::unlink(path.c_str()); }
};

void expect_round_trip(const socket& a, const socket& b) {
    ASSERT_EQ(::write(a.native_handle(), "ping", 4), 4);
    char buffer[8] = {};
    ASSERT_EQ(::read(b.native_handle(), buffer, sizeof buffer), 4);
    EXPECT_EQ(std::string(buffer, 4), "ping");
}

TEST(NetUnix, ListenConnectAcceptOnAFile) {
    unix_path file;
    auto listener = listen_unix(file.path);
    ASSERT_TRUE(listener) << listener.error().message();
    struct stat st {};
    ASSERT_EQ(::stat(file.path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    auto client = connect_unix(file.path);
    ASSERT_TRUE(client) << client.error().message();
    auto server = accept(listener->native_handle(), 1s);
    ASSERT_TRUE(server);
    expect_round_trip(*client, *server);
    expect_round_trip(*server, *client);
}

TEST(NetUnix, AbstractNamesNeedNoFile) {
    const std::string name = "@waitless-net-test-" + std::to_string(::getpid());
    auto listener = listen_unix(name);
    ASSERT_TRUE(listener) << listener.error().message();
    auto client = connect_unix(name);
    ASSERT_TRUE(client);
    auto server = accept(listener->native_handle(), 1s);
    ASSERT_TRUE(server);
    expect_round_trip(*client, *server);
    // A second listener on the same abstract name is refused, never replaced.
    auto again = listen_unix(name);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), std::errc::address_in_use);
}

TEST(NetUnix, AFileLeftBehindIsReplacedALiveOneIsNot) {
    unix_path file;
    {
        auto gone = listen_unix(file.path);
        ASSERT_TRUE(gone);
    }  // closed, but the file stays
    auto live = listen_unix(file.path);
    ASSERT_TRUE(live) << live.error().message();
    auto second = listen_unix(file.path);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error(), std::errc::address_in_use);
    EXPECT_TRUE(connect_unix(file.path));  // still the live one's
}

TEST(NetUnix, ConnectTimesOutWhileTheBacklogIsFull) {
    unix_path file;
    auto listener = listen_unix(file.path, {.backlog = 0});
    ASSERT_TRUE(listener);
    std::vector<socket> waiting;
    std::error_code failure;
    for (int i = 0; i < 4 && !failure; ++i) {
        auto c = connect_unix(file.path, 100ms);
        if (c) {
            waiting.push_back(std::move(*c));
        } else {
            failure = c.error();
        }
    }
    EXPECT_EQ(failure, errc::connect_timeout) << failure.message();
}

TEST(NetUnix, ConnectToNothingIsAnError) {
    unix_path file;
    auto c = connect_unix(file.path);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), std::errc::no_such_file_or_directory);
}

}  // namespace
}  // namespace waitless::net
