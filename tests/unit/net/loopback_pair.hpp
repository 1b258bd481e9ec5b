// Test helper: a listener on 127.0.0.1 (port 0) and one connection to it, both ends at hand.
#pragma once

#include <gtest/gtest.h>

#include "waitless/net/connect.hpp"
#include "waitless/net/listen.hpp"

namespace waitless::net::test {

struct loopback_pair {
    socket listener;
    socket client;
    socket server;

    bool ok() const { return listener && client && server; }
};

inline std::uint16_t port_of(const socket& s) {
    auto local = local_endpoint(s.native_handle());
    EXPECT_TRUE(local.has_value());
    return local ? local->port : 0;
}

inline loopback_pair make_loopback_pair(const connect_options& options = {}) {
    loopback_pair pair;
    auto listener = listen(endpoint::loopback_v4());
    EXPECT_TRUE(listener.has_value()) << listener.error().message();
    if (!listener) return pair;
    pair.listener = std::move(*listener);
    auto client = connect(endpoint::loopback_v4(port_of(pair.listener)), options);
    EXPECT_TRUE(client.has_value()) << client.error().message();
    if (!client) return pair;
    pair.client = std::move(*client);
    auto server = accept(pair.listener.native_handle(), std::chrono::seconds(2));
    EXPECT_TRUE(server.has_value()) << server.error().message();
    if (server) pair.server = std::move(*server);
    return pair;
}

}  // namespace waitless::net::test
