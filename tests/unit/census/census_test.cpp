#include "waitless/census/census.hpp"

#include <gtest/gtest.h>

namespace waitless::census {
namespace {

core::ip_address ip(const char* text) { return *core::ip_address::parse(text); }

TEST(ReuseApplies, FollowsTheKernelModes) {
    kernel_settings s;
    const auto remote = ip("10.0.0.9");
    const auto local = ip("10.0.0.1");
    const auto lo = ip("127.0.0.1");
    s.tw_reuse = 0;
    EXPECT_FALSE(reuse_applies(s, lo, lo));
    s.tw_reuse = 1;
    EXPECT_TRUE(reuse_applies(s, local, remote));
    s.tw_reuse = 2;  // loopback only: either end on loopback
    EXPECT_FALSE(reuse_applies(s, local, remote));
    EXPECT_TRUE(reuse_applies(s, lo, lo));
    EXPECT_TRUE(reuse_applies(s, ip("::1"), ip("::1")));
    EXPECT_TRUE(reuse_applies(s, ip("::ffff:127.0.0.1"), ip("::ffff:127.0.0.1")));
    s.timestamps = 0;  // no timestamps, no reuse at all
    EXPECT_FALSE(reuse_applies(s, lo, lo));
    s.tw_reuse = 1;
    EXPECT_FALSE(reuse_applies(s, local, remote));
}

TEST(StateName, NamesEveryState) {
    EXPECT_EQ(state_name(tcp_state::time_wait), "time_wait");
    EXPECT_EQ(state_name(tcp_state::established), "established");
    for (std::size_t i = 1; i < tcp_state_count; ++i) {
        EXPECT_NE(state_name(static_cast<tcp_state>(i)), "unknown") << i;
    }
}

TEST(KernelSettings, ReadsThisHost) {
    auto s = read_kernel_settings();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_LE(s->port_range.first, s->port_range.last);
    EXPECT_EQ(s->usable_ports, core::usable_ports(s->port_range, s->reserved_ports));
    EXPECT_GE(s->tw_reuse, 0);
    EXPECT_LE(s->tw_reuse, 2);
}

}  // namespace
}  // namespace waitless::census
