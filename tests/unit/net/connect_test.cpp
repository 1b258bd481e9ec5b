// Outgoing connections on loopback: options on the connected socket, timeouts, spreading.
#include "waitless/net/connect.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <set>
#include <vector>

#include "loopback_pair.hpp"
#include "waitless/core/procfs.hpp"
#include "waitless/net/error.hpp"

namespace waitless::net {
namespace {

using namespace std::chrono_literals;

int get_int(int fd, int level, int name) {
    int value = -1;
    socklen_t length = sizeof value;
    EXPECT_EQ(::getsockopt(fd, level, name, &value, &length), 0);
    return value;
}

core::ip_address ip(const char* text) { return *core::ip_address::parse(text); }

TEST(NetConnect, ConnectedSocketCarriesTheOptions) {
    connect_options options;
    options.keepalive = keepalive_options{20s, 4s, 5};
    options.user_timeout = 3000ms;
    auto pair = test::make_loopback_pair(options);
    ASSERT_TRUE(pair.ok());
    const int fd = pair.client.native_handle();
    EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 20);
    EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 4);
    EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 5);
    EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 3000);
    EXPECT_NE(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 0);
    EXPECT_EQ(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0) << "blocking unless asked otherwise";
}

TEST(NetConnect, NonBlockingWhenAsked) {
    connect_options options;
    options.non_blocking = true;
    auto pair = test::make_loopback_pair(options);
    ASSERT_TRUE(pair.ok());
    EXPECT_NE(::fcntl(pair.client.native_handle(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(NetConnect, RefusedIsASystemError) {
    // A port that was just listened on and closed again has nobody behind it.
    std::uint16_t port = 0;
    {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        port = test::port_of(*listener);
    }
    auto s = connect(endpoint::loopback_v4(port));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), std::errc::connection_refused);
}

bool aborts_on_overflow() {
    const auto value = core::read_sysctl_number("net.ipv4.tcp_abort_on_overflow");
    return value && *value != 0;
}

TEST(NetConnect, TimesOutAgainstAListenerWithAFullBacklog) {
    if (aborts_on_overflow()) GTEST_SKIP() << "tcp_abort_on_overflow=1 answers with RST";
    // Backlog 0 holds one connection; once the accept queue is full the kernel drops SYNs,
    // so connect() waits in SYN_SENT (the first SYN retry is only after 1 s).
    auto listener = listen(endpoint::loopback_v4(), {.backlog = 0});
    ASSERT_TRUE(listener);
    const auto target = endpoint::loopback_v4(test::port_of(*listener));
    connect_options options;
    options.timeout = 300ms;
    std::vector<socket> queued;
    std::error_code failure;
    std::chrono::steady_clock::duration took{};
    for (int i = 0; i < 6 && !failure; ++i) {
        const auto start = std::chrono::steady_clock::now();
        auto s = connect(target, options);
        took = std::chrono::steady_clock::now() - start;
        if (s) {
            queued.push_back(std::move(*s));
        } else {
            failure = s.error();
        }
    }
    ASSERT_TRUE(failure) << "the accept queue never filled";
    EXPECT_EQ(failure, errc::connect_timeout) << failure.message();
    EXPECT_GE(took, 290ms);
    EXPECT_LT(took, 900ms);
    EXPECT_GE(queued.size(), 1u);
}

TEST(NetConnect, SpreadsOverEverySourceAddress) {
    auto listener = listen(endpoint::loopback_v4());
    ASSERT_TRUE(listener);
    const auto target = endpoint::loopback_v4(test::port_of(*listener));
    connect_options options;
    options.source_addresses = {ip("127.0.0.1"), ip("127.0.0.2"), ip("127.0.0.3"), ip("127.0.0.4")};
    connector spreading(options);
    std::vector<socket> connections;
    std::multiset<std::string> sources;
    for (int i = 0; i < 8; ++i) {
        auto s = spreading.connect(target);
        ASSERT_TRUE(s) << s.error().message();
        auto local = local_endpoint(s->native_handle());
        ASSERT_TRUE(local);
        EXPECT_NE(local->port, 0);
        sources.insert(local->address.to_string());
        connections.push_back(std::move(*s));
    }
    for (const char* source : {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
        EXPECT_EQ(sources.count(source), 2u) << source;
    }
}

TEST(NetConnect, FirstSourceChoosesTheStartingAddress) {
    auto listener = listen(endpoint::loopback_v4());
    ASSERT_TRUE(listener);
    connect_options options;
    options.source_addresses = {ip("127.0.0.5"), ip("127.0.0.6")};
    auto s = connect(endpoint::loopback_v4(test::port_of(*listener)), options, 1);
    ASSERT_TRUE(s);
    EXPECT_EQ(local_endpoint(s->native_handle())->address.to_string(), "127.0.0.6");
}

TEST(NetConnect, SourcesOfTheOtherFamilyAreNotUsed) {
    connect_options options;
    options.source_addresses = {ip("::1")};
    auto s = connect(endpoint::loopback_v4(9), options);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), errc::address_mismatch);
}

TEST(NetConnect, OpenForConnectBindsTheSourceWithoutAPort) {
    connect_options options;
    options.source_addresses = {ip("127.0.0.7")};
    auto s = open_for_connect(endpoint::loopback_v4(9), options);
    ASSERT_TRUE(s);
    auto local = local_endpoint(s->native_handle());
    ASSERT_TRUE(local);
    EXPECT_EQ(local->address.to_string(), "127.0.0.7");
    EXPECT_EQ(local->port, 0) << "IP_BIND_ADDRESS_NO_PORT defers the port to connect()";
    EXPECT_EQ(get_int(s->native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT), 1);
    EXPECT_NE(::fcntl(s->native_handle(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(NetConnect, LocalPortFromThePerSocketRange) {
    if (!local_port_range_supported()) GTEST_SKIP() << "kernel without IP_LOCAL_PORT_RANGE";
    // The kernel ignores bounds outside the namespace-wide range.
    const auto range = core::read_sysctl_numbers("net.ipv4.ip_local_port_range");
    ASSERT_TRUE(range && range->size() == 2);
    if ((*range)[0] > 50100 || (*range)[1] < 50199) GTEST_SKIP() << "50100-50199 not in range";
    auto listener = listen(endpoint::loopback_v4());
    ASSERT_TRUE(listener);
    connect_options options;
    options.local_port_range = port_range{50100, 50199};
    std::vector<socket> connections;
    for (int i = 0; i < 5; ++i) {
        auto s = connect(endpoint::loopback_v4(test::port_of(*listener)), options);
        ASSERT_TRUE(s) << s.error().message();
        const auto port = local_endpoint(s->native_handle())->port;
        EXPECT_GE(port, 50100);
        EXPECT_LE(port, 50199);
        connections.push_back(std::move(*s));
    }
}

TEST(NetConnect, UnixPathTooLongIsRefusedUpFront) {
    auto s = connect_unix(std::string(200, 'x'));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), errc::path_too_long);
    EXPECT_FALSE(connect_unix(""));
}

}  // namespace
}  // namespace waitless::net
