// Endpoints: parsing, formatting and reading them back from sockets.
#include "waitless/net/endpoint.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "loopback_pair.hpp"

namespace waitless::net {
namespace {

TEST(NetEndpoint, ParsesAndFormatsIpv4AndIpv6) {
    auto v4 = endpoint::parse("10.1.2.3:8080");
    ASSERT_TRUE(v4.has_value());
    EXPECT_EQ(v4->address.family, AF_INET);
    EXPECT_EQ(v4->port, 8080);
    EXPECT_EQ(v4->to_string(), "10.1.2.3:8080");

    auto v6 = endpoint::parse("[::1]:443");
    ASSERT_TRUE(v6.has_value());
    EXPECT_EQ(v6->address.family, AF_INET6);
    EXPECT_EQ(v6->to_string(), "[::1]:443");
}

TEST(NetEndpoint, RequiresAPort) {
    EXPECT_FALSE(endpoint::parse("10.1.2.3").has_value());
    EXPECT_FALSE(endpoint::parse("nonsense:80").has_value());
}

TEST(NetEndpoint, LocalAndRemoteOfAConnectionMirrorEachOther) {
    auto pair = test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    auto client_local = local_endpoint(pair.client.native_handle());
    auto server_remote = remote_endpoint(pair.server.native_handle());
    ASSERT_TRUE(client_local && server_remote);
    EXPECT_EQ(*client_local, *server_remote);
    EXPECT_EQ(remote_endpoint(pair.client.native_handle())->port, test::port_of(pair.listener));
    EXPECT_TRUE(client_local->address.is_loopback());
}

TEST(NetEndpoint, ErrorsOnADescriptorThatIsNoSocket) {
    EXPECT_FALSE(local_endpoint(-1).has_value());
}

}  // namespace
}  // namespace waitless::net
