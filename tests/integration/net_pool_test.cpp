// The TCP connection factory inside the real pool, in a private namespace: stale connections are
// replaced before they are handed out, and retired connections leave no TIME_WAIT behind.
#include <gtest/gtest.h>
#include <poll.h>

#include <functional>
#include <thread>

#include "support/netns.hpp"
#include "waitless/census/census.hpp"
#include "waitless/net/listen.hpp"
#include "waitless/net/tcp_factory.hpp"
#include "waitless/pool/pool.hpp"

namespace waitless::net {
namespace {

using namespace std::chrono_literals;
using socket_pool = pool::pool<socket, tcp_connection_factory>;

static_assert(pool::factory_for<tcp_connection_factory, socket>);

std::uint16_t port_of(const socket& s) { return local_endpoint(s.native_handle())->port; }

pool::options pool_options(std::size_t max) {
    pool::options o;
    o.max = max;
    o.validate_on_borrow = true;
    o.validate_bypass = 0s;       // check on every borrow
    o.maintenance_interval = 0s;  // no background thread: the test drives it
    o.acquire_timeout = 2s;
    return o;
}

// The census once the closes have settled: 100 ms, or until `done` holds (up to 3 s, for a
// FIN exchange on a busy machine).
census::snapshot snapshot_after_settling(
    const std::function<bool(const census::snapshot&)>& done = {}) {
    std::this_thread::sleep_for(100ms);
    for (int i = 0;; ++i) {
        auto taken = census::take_snapshot();
        EXPECT_TRUE(taken) << taken.error().message();
        if (!taken) return census::snapshot{};
        if (!done || done(*taken) || i == 29) return std::move(*taken);
        std::this_thread::sleep_for(100ms);
    }
}

TEST(NetPool, AStaleConnectionIsReplacedBeforeItIsHandedOut) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        tcp_connection_factory factory({.remote = endpoint::loopback_v4(port_of(*listener))});
        socket_pool connections(factory, pool_options(1));

        std::uint16_t first_port = 0;
        {
            auto lease = connections.acquire();
            ASSERT_TRUE(lease) << lease.error().message();
            first_port = port_of(lease->get());
        }
        // The server closes the idle connection (its keep-alive timeout, say).
        auto server_side = accept(listener->native_handle(), 2s);
        ASSERT_TRUE(server_side);
        server_side->reset();
        std::this_thread::sleep_for(50ms);

        auto lease = connections.acquire();
        ASSERT_TRUE(lease) << lease.error().message();
        EXPECT_NE(port_of(lease->get()), first_port) << "a new connection, not the stale one";
        EXPECT_EQ(check_liveness(lease->get().native_handle()), liveness::alive);
        // The stale one is destroyed on a pool worker thread; give it a moment.
        for (int i = 0; i < 100 && factory.stats().closed_reset == 0; ++i) {
            std::this_thread::sleep_for(10ms);
        }
        const auto stats = factory.stats();
        EXPECT_EQ(stats.stale_peer_closed, 1u);
        EXPECT_EQ(stats.created, 2u);
        // Its queues were empty, so it went with an RST: no TIME_WAIT on this side.
        EXPECT_EQ(stats.closed_reset, 1u);
        EXPECT_EQ(stats.closed_time_wait_here, 0u);
    });
}

TEST(NetPool, RetiredIdleConnectionsLeaveNoTimeWait) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        constexpr std::size_t size = 8;
        tcp_connection_factory factory({.remote = endpoint::loopback_v4(port_of(*listener))});
        std::vector<socket> server_sides;
        {
            socket_pool connections(factory, pool_options(size));
            std::vector<pool::lease<socket>> leases;
            for (std::size_t i = 0; i < size; ++i) {
                auto lease = connections.acquire();
                ASSERT_TRUE(lease) << lease.error().message();
                leases.push_back(std::move(*lease));
                auto accepted = accept(listener->native_handle(), 2s);
                ASSERT_TRUE(accepted);
                server_sides.push_back(std::move(*accepted));
            }
            leases.clear();  // all idle again
            EXPECT_TRUE(connections.drain(5s));
        }
        EXPECT_EQ(factory.stats().closed_reset, size);
        const auto s = snapshot_after_settling();
        EXPECT_EQ(s.time_wait, 0u);
        EXPECT_EQ(s.count(census::tcp_state::established), 0u) << "every server side saw the RST";
    });
}

TEST(NetPool, TheSamePoolClosingGracefullyWouldLeaveTimeWaitOnTheClient) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ns->run([] {
        auto listener = listen(endpoint::loopback_v4());
        ASSERT_TRUE(listener);
        constexpr std::size_t size = 4;
        tcp_connection_factory factory(
            {.remote = endpoint::loopback_v4(port_of(*listener)), .on_destroy = graceful_close{}});
        std::vector<socket> server_sides;
        {
            socket_pool connections(factory, pool_options(size));
            std::vector<pool::lease<socket>> leases;
            for (std::size_t i = 0; i < size; ++i) {
                auto lease = connections.acquire();
                ASSERT_TRUE(lease);
                leases.push_back(std::move(*lease));
                auto accepted = accept(listener->native_handle(), 2s);
                ASSERT_TRUE(accepted);
                server_sides.push_back(std::move(*accepted));
            }
            leases.clear();
            EXPECT_TRUE(connections.drain(5s));
        }
        server_sides.clear();  // the servers answer the FINs with theirs
        EXPECT_EQ(factory.stats().closed_time_wait_here, size);
        const auto s = snapshot_after_settling(
            [](const census::snapshot& taken) { return taken.time_wait_client >= size; });
        EXPECT_EQ(s.time_wait_client, size);
    });
}

}  // namespace
}  // namespace waitless::net
