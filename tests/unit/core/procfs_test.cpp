#include "waitless/core/procfs.hpp"

#include <gtest/gtest.h>

namespace waitless::core {
namespace {

TEST(Procfs, SysctlNamesMapToProcSysPaths) {
    EXPECT_EQ(sysctl_path("net.ipv4.tcp_tw_reuse"), "/proc/sys/net/ipv4/tcp_tw_reuse");
}

TEST(Procfs, ReadsRealSysctls) {
    auto range = read_sysctl_numbers("net.ipv4.ip_local_port_range");
    ASSERT_TRUE(range) << range.error().message();
    ASSERT_EQ(range->size(), 2u);
    EXPECT_LE((*range)[0], (*range)[1]);
    auto missing = read_sysctl("net.ipv4.no_such_setting");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), std::errc::no_such_file_or_directory);
}

TEST(Procfs, ParsesNumbers) {
    EXPECT_EQ(parse_numbers("32768\t60999\n").value(), (std::vector<std::int64_t>{32768, 60999}));
    EXPECT_FALSE(parse_numbers(""));
    EXPECT_FALSE(parse_numbers("12 x"));
    EXPECT_FALSE(parse_numbers("99999999999999999999999"));
}

TEST(Procfs, ParsesReservedPortListsSortedAndMerged) {
    EXPECT_TRUE(parse_port_list("").value().empty());
    EXPECT_TRUE(parse_port_list("\n").value().empty());
    auto list = parse_port_list("9000-9010,8080,9005-9020,9021");
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, (std::vector<port_interval>{{8080, 8080}, {9000, 9021}}));
    for (const char* bad : {"a", "10-", "-10", "20-10", "70000", "1,,x"}) {
        EXPECT_FALSE(parse_port_list(bad)) << bad;
    }
}

TEST(Procfs, CountsUsablePortsWithoutReservedOnes) {
    EXPECT_EQ(usable_ports({32768, 60999}, {}), 28232u);
    EXPECT_EQ(usable_ports({1000, 1999}, {{500, 1009}, {1500, 1500}, {3000, 4000}}), 989u);
    EXPECT_EQ(usable_ports({1000, 1000}, {{1000, 1000}}), 0u);
    EXPECT_TRUE(contains({{10, 20}}, 15));
    EXPECT_FALSE(contains({{10, 20}}, 21));
}

TEST(Procfs, ParsesCounterTables) {
    auto table = parse_counter_table(
        "TcpExt: TW TWKilled TWRecycled\nTcpExt: 5 1 2\nIpExt: InOctets\nIpExt: 99\n");
    ASSERT_TRUE(table);
    EXPECT_EQ(table->at("TcpExt.TW"), 5);
    EXPECT_EQ(table->at("TcpExt.TWRecycled"), 2);
    EXPECT_EQ(table->at("IpExt.InOctets"), 99);
    EXPECT_FALSE(parse_counter_table("TcpExt: TW\n"));
    EXPECT_FALSE(parse_counter_table("TcpExt: TW TWKilled\nTcpExt: 5\n"));
    EXPECT_FALSE(parse_counter_table("TcpExt: TW\nIpExt: 5\n"));
    EXPECT_FALSE(parse_counter_table("TcpExt: TW\nTcpExt: x\n"));
}

TEST(Procfs, ReadsRealTcpCounters) {
    auto counters = read_tcp_counters();
    ASSERT_TRUE(counters) << counters.error().message();
    EXPECT_TRUE(counters->contains("TcpExt.TW"));
    EXPECT_TRUE(counters->contains("Tcp.ActiveOpens"));
    EXPECT_GE(counters->at("Tcp.CurrEstab"), 0);
}

}  // namespace
}  // namespace waitless::core
