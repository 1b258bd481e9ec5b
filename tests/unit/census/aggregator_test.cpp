#include "census/aggregator.hpp"

#include <gtest/gtest.h>

namespace waitless::census::detail {
namespace {

core::ip_address ip(const char* text) { return *core::ip_address::parse(text); }

socket_record record(tcp_state state, const char* local, std::uint16_t local_port,
                     const char* remote, std::uint16_t remote_port, std::uint32_t expires_ms = 0) {
    socket_record r;
    r.state = state;
    r.local_ip = ip(local);
    r.remote_ip = ip(remote);
    r.local_port = local_port;
    r.remote_port = remote_port;
    r.expires_ms = expires_ms;
    return r;
}

kernel_settings no_reuse(std::uint32_t usable = 1000) {
    kernel_settings s;
    s.port_range = {40000, static_cast<std::uint16_t>(40000 + usable - 1)};
    s.usable_ports = usable;
    s.tw_reuse = 0;
    return s;
}

TEST(Aggregator, SplitsTimeWaitByTheSideThatClosedFirst) {
    aggregator a(no_reuse(), {});
    a.add_listener(record(tcp_state::listen, "0.0.0.0", 8080, "0.0.0.0", 0));
    a.add_listener(record(tcp_state::listen, "10.0.0.1", 9090, "0.0.0.0", 0));
    // Server side: local port is a listener (wildcard or exact address).
    a.add(record(tcp_state::time_wait, "10.0.0.5", 8080, "10.0.0.9", 41000, 30000));
    a.add(record(tcp_state::time_wait, "10.0.0.1", 9090, "10.0.0.9", 41001, 30000));
    // Client side: 9090 listens on 10.0.0.1 only, so 10.0.0.2:9090 is an ordinary port.
    a.add(record(tcp_state::time_wait, "10.0.0.2", 9090, "10.0.0.9", 80, 30000));
    a.add(record(tcp_state::time_wait, "10.0.0.2", 41002, "10.0.0.9", 80, 30000));
    auto s = std::move(a).finish();
    EXPECT_EQ(s.time_wait, 4u);
    EXPECT_EQ(s.time_wait_server, 2u);
    EXPECT_EQ(s.time_wait_client, 2u);
    ASSERT_EQ(s.destinations.size(), 1u);
    EXPECT_EQ(s.destinations[0].time_wait, 2u);
    EXPECT_EQ(s.destinations[0].remote_port, 80);
    ASSERT_EQ(s.listeners.size(), 2u);
    EXPECT_EQ(s.listeners[0].time_wait, 1u);
    EXPECT_EQ(s.listeners[1].time_wait, 1u);
    EXPECT_EQ(s.count(tcp_state::listen), 2u);
    EXPECT_EQ(s.count(tcp_state::time_wait), 4u);
}

TEST(Aggregator, MergesReuseportListenersAndKeepsTheirQueues) {
    aggregator a(no_reuse(), {});
    auto l = record(tcp_state::listen, "0.0.0.0", 80, "0.0.0.0", 0);
    l.send_queue = 511;
    l.receive_queue = 3;
    a.add_listener(l);
    l.receive_queue = 4;
    a.add_listener(l);
    auto s = std::move(a).finish();
    ASSERT_EQ(s.listeners.size(), 1u);
    EXPECT_EQ(s.listeners[0].backlog, 1022u);  // two queues of 511
    EXPECT_EQ(s.listeners[0].accept_queue, 7u);
    EXPECT_EQ(s.listeners[0].sockets, 2u);
    EXPECT_EQ(s.count(tcp_state::listen), 2u);
}

TEST(Aggregator, CountsActiveClientSocketsAndLeavesAcceptedOnesOut) {
    aggregator a(no_reuse(), {});
    a.add_listener(record(tcp_state::listen, "::", 443, "::", 0));
    a.add(record(tcp_state::established, "::1", 50000, "::1", 443));
    a.add(record(tcp_state::established, "::1", 443, "::1", 50000));  // accepted
    a.add(record(tcp_state::syn_sent, "::1", 50001, "::1", 443));
    a.add(record(tcp_state::new_syn_recv, "::1", 443, "::1", 50001));
    auto s = std::move(a).finish();
    ASSERT_EQ(s.destinations.size(), 1u);
    EXPECT_EQ(s.destinations[0].active, 2u);
    EXPECT_EQ(s.destinations[0].time_wait, 0u);
    EXPECT_EQ(s.count(tcp_state::syn_recv), 1u);  // request sockets count as SYN_RECV
    EXPECT_EQ(s.count(tcp_state::established), 2u);
}

TEST(Aggregator, BucketsExpiriesCumulatively) {
    aggregator a(no_reuse(), {});
    for (std::uint32_t ms : {500u, 1000u, 4000u, 9000u, 20000u, 59000u}) {
        a.add(record(tcp_state::time_wait, "127.0.0.1", 40001, "127.0.0.1", 80, ms));
    }
    auto s = std::move(a).finish();
    EXPECT_EQ(s.expiring_within, (std::array<std::uint64_t, 5>{2, 3, 4, 5, 6}));
}

TEST(Aggregator, EstimatesTheCloseRateFromTimerAges) {
    options opts;
    opts.rate_window_s = 10;
    aggregator a(no_reuse(), opts);
    // 30 sockets closed within the last 10 s (more than 50 s left), 10 older ones.
    for (int i = 0; i < 30; ++i) {
        a.add(record(tcp_state::time_wait, "127.0.0.1", 40001, "127.0.0.1", 80, 55000));
    }
    for (int i = 0; i < 10; ++i) {
        a.add(record(tcp_state::time_wait, "127.0.0.1", 40001, "127.0.0.1", 80, 5000));
    }
    auto s = std::move(a).finish();
    ASSERT_EQ(s.destinations.size(), 1u);
    EXPECT_DOUBLE_EQ(s.destinations[0].closes_per_s, 3.0);
    EXPECT_DOUBLE_EQ(s.destinations[0].expiries_per_s, 1.0);
}

TEST(Aggregator, FiltersByDestinationAndPort) {
    options by_destination;
    by_destination.destination = *core::address_filter::parse("10.0.0.9:80");
    aggregator a(no_reuse(), by_destination);
    a.add_listener(record(tcp_state::listen, "0.0.0.0", 22, "0.0.0.0", 0));
    a.add(record(tcp_state::time_wait, "10.0.0.1", 40001, "10.0.0.9", 80, 100));
    a.add(record(tcp_state::time_wait, "10.0.0.1", 40002, "10.0.0.9", 81, 100));
    a.add(record(tcp_state::time_wait, "::ffff:10.0.0.1", 40003, "::ffff:10.0.0.9", 80, 100));
    auto s = std::move(a).finish();
    EXPECT_EQ(s.time_wait, 2u);  // the mapped IPv6 form matches too
    EXPECT_TRUE(s.listeners.empty());
    EXPECT_EQ(s.count(tcp_state::listen), 0u);

    options by_port;
    by_port.port = 22;
    aggregator b(no_reuse(), by_port);
    b.add_listener(record(tcp_state::listen, "0.0.0.0", 22, "0.0.0.0", 0));
    b.add_listener(record(tcp_state::listen, "0.0.0.0", 23, "0.0.0.0", 0));
    b.add(record(tcp_state::time_wait, "10.0.0.1", 22, "10.0.0.9", 40000, 100));
    b.add(record(tcp_state::time_wait, "10.0.0.1", 40001, "10.0.0.9", 22, 100));
    b.add(record(tcp_state::time_wait, "10.0.0.1", 40001, "10.0.0.9", 24, 100));
    auto t = std::move(b).finish();
    EXPECT_EQ(t.time_wait, 2u);
    ASSERT_EQ(t.listeners.size(), 1u);
    EXPECT_EQ(t.listeners[0].local_port, 22);
}

TEST(Derive, NoExhaustionWhenTheSettledCountFitsTheBudget) {
    // 10 closes/s settle at 600 TIME_WAIT: below 1000 ports, however fast it grows now.
    auto d = derive(ip("10.0.0.1"), ip("10.0.0.9"), 80, 300, 0, 100, 0, no_reuse(1000), 10);
    EXPECT_DOUBLE_EQ(d.closes_per_s, 10.0);
    EXPECT_DOUBLE_EQ(d.occupancy, 0.3);
    EXPECT_FALSE(d.seconds_to_exhaustion);
}

TEST(Derive, FiniteExhaustionWhenHeadingPastTheBudget) {
    // 60 closes/s would settle at 3600 > 1000 ports; 400 free ports at 60 - 0 per s.
    auto d = derive(ip("10.0.0.1"), ip("10.0.0.9"), 80, 600, 0, 600, 0, no_reuse(1000), 10);
    ASSERT_TRUE(d.seconds_to_exhaustion);
    EXPECT_NEAR(*d.seconds_to_exhaustion, 400.0 / 60.0, 1e-9);
    // Expiries slow the growth: 60 in, 20 out per second.
    auto slower = derive(ip("10.0.0.1"), ip("10.0.0.9"), 80, 600, 0, 600, 200, no_reuse(1000), 10);
    EXPECT_NEAR(*slower.seconds_to_exhaustion, 400.0 / 40.0, 1e-9);
}

TEST(Derive, ZeroWhenFullAndNoneWhenReuseApplies) {
    auto full = derive(ip("10.0.0.1"), ip("10.0.0.9"), 80, 990, 10, 990, 0, no_reuse(1000), 10);
    EXPECT_EQ(full.seconds_to_exhaustion, 0.0);
    EXPECT_DOUBLE_EQ(full.occupancy, 1.0);
    auto settings = no_reuse(1000);
    settings.tw_reuse = 1;
    auto reused = derive(ip("10.0.0.1"), ip("10.0.0.9"), 80, 990, 10, 990, 0, settings, 10);
    EXPECT_TRUE(reused.reuse_applies);
    EXPECT_FALSE(reused.seconds_to_exhaustion);
}

TEST(Derive, NoUsablePortsMeansFullOccupancy) {
    auto d = derive(ip("10.0.0.1"), ip("10.0.0.9"), 80, 1, 0, 1, 0, no_reuse(0), 10);
    EXPECT_DOUBLE_EQ(d.occupancy, 1.0);
    EXPECT_EQ(d.seconds_to_exhaustion, 0.0);
}

}  // namespace
}  // namespace waitless::census::detail
