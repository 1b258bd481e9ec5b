// Socket options: each setter really changes what getsockopt() reads back.
#include "waitless/net/options.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "loopback_pair.hpp"

namespace waitless::net {
namespace {

int get_int(int fd, int level, int name) {
    int value = -1;
    socklen_t length = sizeof value;
    EXPECT_EQ(::getsockopt(fd, level, name, &value, &length), 0);
    return value;
}

socket tcp_socket() { return socket{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)}; }

TEST(NetOptions, KeepaliveSetsAllThreeTimers) {
    const auto s = tcp_socket();
    ASSERT_TRUE(s);
    const int fd = s.native_handle();
    ASSERT_TRUE(set_keepalive(fd, {std::chrono::seconds(7), std::chrono::seconds(3), 4}));
    EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 7);
    EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 3);
    EXPECT_EQ(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 4);
    ASSERT_TRUE(disable_keepalive(fd));
    EXPECT_EQ(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
}

TEST(NetOptions, KeepaliveRejectsTimersTheKernelWouldRefuse) {
    const auto s = tcp_socket();
    const auto zero_idle = set_keepalive(s.native_handle(), {std::chrono::seconds(0)});
    ASSERT_FALSE(zero_idle);
    EXPECT_EQ(zero_idle.error(), std::errc::invalid_argument);
    EXPECT_EQ(get_int(s.native_handle(), SOL_SOCKET, SO_KEEPALIVE), 0);
    EXPECT_FALSE(set_keepalive(s.native_handle(), {.count = 0}));  // kernel: 1..127
    EXPECT_FALSE(set_keepalive(s.native_handle(), {.count = 128}));
    EXPECT_EQ(get_int(s.native_handle(), SOL_SOCKET, SO_KEEPALIVE), 0) << "nothing half-applied";
}

TEST(NetOptions, NodelayOnAndOff) {
    const auto s = tcp_socket();
    ASSERT_TRUE(set_nodelay(s.native_handle(), true));
    EXPECT_NE(get_int(s.native_handle(), IPPROTO_TCP, TCP_NODELAY), 0);
    ASSERT_TRUE(set_nodelay(s.native_handle(), false));
    EXPECT_EQ(get_int(s.native_handle(), IPPROTO_TCP, TCP_NODELAY), 0);
}

TEST(NetOptions, UserTimeoutInMilliseconds) {
    const auto s = tcp_socket();
    ASSERT_TRUE(set_user_timeout(s.native_handle(), std::chrono::milliseconds(12'345)));
    EXPECT_EQ(get_int(s.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT), 12'345);
    EXPECT_FALSE(set_user_timeout(s.native_handle(), std::chrono::milliseconds(-1)));
}

TEST(NetOptions, NonBlockingToggles) {
    const auto s = tcp_socket();
    ASSERT_TRUE(set_non_blocking(s.native_handle(), true));
    EXPECT_NE(::fcntl(s.native_handle(), F_GETFL) & O_NONBLOCK, 0);
    ASSERT_TRUE(set_non_blocking(s.native_handle(), false));
    EXPECT_EQ(::fcntl(s.native_handle(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(NetOptions, LocalPortRangeOrACleanEnoprotoopt) {
    const auto s = tcp_socket();
    const auto r = set_local_port_range(s.native_handle(), {40000, 40100});
    if (!local_port_range_supported()) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), std::errc::no_protocol_option);
        GTEST_SKIP() << "kernel without IP_LOCAL_PORT_RANGE (6.3+)";
    }
    ASSERT_TRUE(r) << r.error().message();
    const auto packed = static_cast<std::uint32_t>(get_int(s.native_handle(), IPPROTO_IP, 51));
    EXPECT_EQ(packed & 0xffff, 40000u);
    EXPECT_EQ(packed >> 16, 40100u);
    EXPECT_FALSE(set_local_port_range(s.native_handle(), {50000, 40000}));
}

TEST(NetOptions, ApplyConnectOptionsSetsEverythingAsked) {
    const auto s = tcp_socket();
    connect_options options;
    options.nodelay = true;
    options.keepalive = keepalive_options{std::chrono::seconds(30), std::chrono::seconds(5), 3};
    options.user_timeout = std::chrono::milliseconds(2000);
    options.local_port_range = port_range{45000, 45999};
    ASSERT_TRUE(apply_connect_options(s.native_handle(), options));
    EXPECT_NE(get_int(s.native_handle(), IPPROTO_TCP, TCP_NODELAY), 0);
    EXPECT_EQ(get_int(s.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE), 30);
    EXPECT_EQ(get_int(s.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT), 2000);
}

TEST(NetOptions, DefaultsLeaveKeepaliveOffAndNodelayOn) {
    const auto s = tcp_socket();
    ASSERT_TRUE(apply_connect_options(s.native_handle(), {}));
    EXPECT_EQ(get_int(s.native_handle(), SOL_SOCKET, SO_KEEPALIVE), 0);
    EXPECT_NE(get_int(s.native_handle(), IPPROTO_TCP, TCP_NODELAY), 0);
    EXPECT_EQ(get_int(s.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
}

TEST(NetOptions, SettersFailOnAClosedDescriptor) {
    const auto r = set_nodelay(-1, true);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::bad_file_descriptor);
}

}  // namespace
}  // namespace waitless::net
