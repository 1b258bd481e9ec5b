// Source-address spreading in a private namespace: every source used, each with its own port
// range towards one destination, and fail-over to the next source when one runs out of ports.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <set>
#include <thread>
#include <vector>

#include "support/netns.hpp"
#include "waitless/census/census.hpp"
#include "waitless/net/close.hpp"
#include "waitless/net/connect.hpp"
#include "waitless/net/listen.hpp"

namespace waitless::net {
namespace {

using namespace std::chrono_literals;

core::ip_address ip(const char* text) { return *core::ip_address::parse(text); }
std::uint16_t port_of(const socket& s) { return local_endpoint(s.native_handle())->port; }

TEST(NetSourceSpread, TimeWaitIsSpreadOverEverySource) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        connect_options options;
        options.source_addresses = {ip("127.0.0.1"), ip("127.0.0.2"), ip("127.0.0.3"),
                                    ip("127.0.0.4")};
        connector spreading(options);
        constexpr int per_source = 5;
        for (int i = 0; i < 4 * per_source; ++i) {
            auto c = spreading.connect(endpoint::loopback_v4(port_of(*listener)));
            ASSERT_TRUE(c) << c.error().message();
            auto s = accept(listener->native_handle(), 2s);
            ASSERT_TRUE(s);
            ASSERT_EQ(close(*c, graceful_close{}).value(), close_outcome::time_wait_here);
            pollfd p{s->native_handle(), POLLIN, 0};
            ASSERT_EQ(::poll(&p, 1, 2000), 1);
            ASSERT_TRUE(close(*s, graceful_close{}));
        }
        census::snapshot snap;
        for (int i = 0; i < 60 && snap.time_wait < 4 * per_source; ++i) {
            auto taken = census::take_snapshot();
            ASSERT_TRUE(taken);
            snap = std::move(*taken);
            if (snap.time_wait < 4 * per_source) std::this_thread::sleep_for(50ms);
        }
        EXPECT_EQ(snap.time_wait_client, 4u * per_source);
        // One destination per source IP, each holding its share of ports.
        std::set<std::string> sources;
        for (const auto& d : snap.destinations) {
            EXPECT_EQ(d.time_wait, static_cast<std::uint32_t>(per_source))
                << d.local_ip.to_string();
            EXPECT_EQ(d.remote_port, port_of(*listener));
            sources.insert(d.local_ip.to_string());
        }
        EXPECT_EQ(sources,
                  (std::set<std::string>{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}));
    });
}

TEST(NetSourceSpread, ASourceOutOfPortsHandsOverToTheNext) {
    if (!local_port_range_supported()) GTEST_SKIP() << "kernel without IP_LOCAL_PORT_RANGE";
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        const auto target = endpoint::loopback_v4(port_of(*listener));
        connect_options options;
        options.source_addresses = {ip("127.0.0.2"), ip("127.0.0.3")};
        options.local_port_range = port_range{40000, 40001};  // two ports per source
        std::vector<socket> open;
        std::multiset<std::string> sources;
        for (int i = 0; i < 4; ++i) {
            // Always starting at 127.0.0.2: only exhaustion moves a connection to 127.0.0.3.
            auto c = connect(target, options, 0);
            ASSERT_TRUE(c) << i << ": " << c.error().message();
            const auto local = local_endpoint(c->native_handle());
            EXPECT_GE(local->port, 40000);
            EXPECT_LE(local->port, 40001);
            sources.insert(local->address.to_string());
            open.push_back(std::move(*c));
        }
        EXPECT_EQ(sources.count("127.0.0.2"), 2u);
        EXPECT_EQ(sources.count("127.0.0.3"), 2u);
        // Both sources full: the port exhaustion error itself comes back.
        auto none = connect(target, options, 0);
        ASSERT_FALSE(none);
        EXPECT_EQ(none.error(), std::errc::address_not_available);
    });
}

}  // namespace
}  // namespace waitless::net
