#include "waitless/core/address.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <unordered_set>

namespace waitless::core {
namespace {

TEST(IpAddress, ParsesAndFormatsBothFamilies) {
    auto v4 = ip_address::parse("10.1.2.3");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family, AF_INET);
    EXPECT_EQ(v4->to_string(), "10.1.2.3");
    auto v6 = ip_address::parse("2001:db8::1");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family, AF_INET6);
    EXPECT_EQ(v6->to_string(), "2001:db8::1");
}

TEST(IpAddress, RejectsMalformedText) {
    for (const char* bad : {"", "1.2.3", "1.2.3.256", "abc", "1.2.3.4 ", "::g", "[::1]",
                            "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb"}) {
        EXPECT_FALSE(ip_address::parse(bad)) << bad;
    }
}

TEST(IpAddress, KnowsLoopbackIncludingMappedAndWholeRange) {
    EXPECT_TRUE(ip_address::parse("127.0.0.1")->is_loopback());
    EXPECT_TRUE(ip_address::parse("127.10.0.9")->is_loopback());
    EXPECT_TRUE(ip_address::parse("::1")->is_loopback());
    EXPECT_TRUE(ip_address::parse("::ffff:127.0.0.1")->is_loopback());
    EXPECT_FALSE(ip_address::parse("10.0.0.1")->is_loopback());
    EXPECT_FALSE(ip_address::parse("::2")->is_loopback());
}

TEST(IpAddress, UnspecifiedAndHashing) {
    EXPECT_TRUE(ip_address::parse("0.0.0.0")->is_unspecified());
    EXPECT_TRUE(ip_address::parse("::")->is_unspecified());
    EXPECT_FALSE(ip_address{}.is_unspecified());
    std::unordered_set<ip_address> set{*ip_address::parse("10.0.0.1"),
                                       *ip_address::parse("10.0.0.1"), *ip_address::parse("::1")};
    EXPECT_EQ(set.size(), 2u);
}

TEST(AddressFilter, ParsesAddressWithOptionalPort) {
    auto plain = address_filter::parse("10.0.0.1");
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->port);
    auto with_port = address_filter::parse("10.0.0.1:443");
    ASSERT_TRUE(with_port);
    EXPECT_EQ(with_port->port, 443);
    auto v6 = address_filter::parse("[::1]:8080");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->address.to_string(), "::1");
    EXPECT_EQ(v6->port, 8080);
    auto bare_v6 = address_filter::parse("fe80::1");
    ASSERT_TRUE(bare_v6);
    EXPECT_FALSE(bare_v6->port);
}

TEST(AddressFilter, RejectsMalformedFilters) {
    for (const char* bad :
         {"", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:+80", "10.0.0.1:80x", "[::1",
          "[::1]80", "[10.0.0.1]:80", "host:80", ":80", "10.0.0.1:-1"}) {
        EXPECT_FALSE(address_filter::parse(bad)) << bad;
    }
}

TEST(ParsePort, AcceptsOnlyDigitsInRange) {
    EXPECT_EQ(parse_port("1").value(), 1);
    EXPECT_EQ(parse_port("65535").value(), 65535);
    EXPECT_FALSE(parse_port("0"));
    EXPECT_FALSE(parse_port("65536"));
    EXPECT_FALSE(parse_port(" 80"));
    EXPECT_FALSE(parse_port("99999999999999999999"));
}

}  // namespace
}  // namespace waitless::core

namespace waitless::core {
namespace {

TEST(IpNetwork, ContainsTheAddressesOfItsPrefix) {
    auto net8 = ip_network::parse("10.1.2.3/8").value();
    EXPECT_EQ(net8.to_string(), "10.0.0.0/8");
    EXPECT_TRUE(net8.contains(ip_address::parse("10.255.0.1").value()));
    EXPECT_FALSE(net8.contains(ip_address::parse("11.0.0.1").value()));
    EXPECT_TRUE(net8.contains(ip_address::parse("::ffff:10.0.0.9").value()));  // mapped
    auto net20 = ip_network::parse("172.16.0.0/12").value();
    EXPECT_TRUE(net20.contains(ip_address::parse("172.31.255.255").value()));
    EXPECT_FALSE(net20.contains(ip_address::parse("172.32.0.0").value()));
    auto host = ip_network::parse("192.168.1.7").value();
    EXPECT_EQ(host.prefix, 32u);
    EXPECT_TRUE(host.contains(ip_address::parse("192.168.1.7").value()));
    EXPECT_FALSE(host.contains(ip_address::parse("192.168.1.8").value()));
    auto v6 = ip_network::parse("fd00::/8").value();
    EXPECT_TRUE(v6.contains(ip_address::parse("fdab::1").value()));
    EXPECT_FALSE(v6.contains(ip_address::parse("fe80::1").value()));
    EXPECT_FALSE(v6.contains(ip_address::parse("10.0.0.1").value()));
    EXPECT_TRUE(
        ip_network::parse("0.0.0.0/0").value().contains(ip_address::parse("8.8.8.8").value()));
}

TEST(IpNetwork, RejectsMalformedNetworks) {
    for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/8x", "host/8",
                            "10.0.0.0/-1", "10.0.0.0/ 8"}) {
        EXPECT_FALSE(ip_network::parse(bad)) << bad;
    }
}

TEST(IpNetwork, ListsAreCommaSeparated) {
    EXPECT_TRUE(parse_networks("").value().empty());
    EXPECT_EQ(parse_networks("10.0.0.0/8,::1").value().size(), 2u);
    EXPECT_FALSE(parse_networks("10.0.0.0/8,"));
    EXPECT_FALSE(parse_networks("10.0.0.0/8,,::1"));
}

}  // namespace
}  // namespace waitless::core
