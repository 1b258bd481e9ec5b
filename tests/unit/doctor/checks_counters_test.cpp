// The counter checks: rates over the sample, steady state, churn, resets, listen queues.
#include <gtest/gtest.h>

#include "facts.hpp"

namespace waitless::doctor::test {
namespace {

TEST(DoctorCounters, SampleArithmetic) {
    counter_sample c;
    c.before = {{"TcpExt.TW", 10}, {"Tcp.ActiveOpens", 50}};
    c.after = {{"TcpExt.TW", 30}, {"Tcp.ActiveOpens", 40}, {"TcpExt.TWKilled", 3}};
    c.interval_s = 0.5;
    EXPECT_EQ(c.total("TcpExt.TW"), 30);
    EXPECT_EQ(c.delta("TcpExt.TW"), 20);
    EXPECT_EQ(c.rate("TcpExt.TW"), 40.0);
    EXPECT_EQ(c.delta("Tcp.ActiveOpens"), 0);  // never negative
    EXPECT_EQ(c.delta("TcpExt.TWKilled"), 0);  // not read before
    EXPECT_EQ(c.total("TcpExt.NoSuchCounter"), 0);
    c.interval_s = 0;
    EXPECT_FALSE(c.rate("TcpExt.TW"));
}

TEST(DoctorCounters, RatesAreReportedAsInfo) {
    auto facts = healthy_facts();
    facts.counters.interval_s = 2.0;
    bump(facts, "TcpExt.TW", 100, 5000);
    bump(facts, "TcpExt.TWKilled", 20);
    bump(facts, "TcpExt.TWRecycled", 10);
    bump(facts, "Tcp.ActiveOpens", 200);
    bump(facts, "Tcp.EstabResets", 4);
    bump(facts, "TcpExt.TCPAbortOnData", 2);
    const auto findings = audit(facts);
    const auto f = find_id(findings, "counter_rates");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::info);
    EXPECT_EQ(f->evidence.at("time_wait_entered_per_s"), 60.0);
    EXPECT_EQ(f->evidence.at("TcpExt.TWRecycled_per_s"), 5.0);
    EXPECT_EQ(f->evidence.at("Tcp.ActiveOpens_per_s"), 100.0);
    EXPECT_EQ(f->evidence.at("Tcp.EstabResets_per_s"), 2.0);
    EXPECT_EQ(f->evidence.at("TcpExt.TCPAbortOnData_per_s"), 1.0);
    const auto resets = find_id(findings, "resets");
    ASSERT_TRUE(resets);
    EXPECT_EQ(resets->level, severity::info);
    EXPECT_NE(resets->why.find("ECONNRESET"), std::string::npos);
}

TEST(DoctorCounters, NoSampleNoRates) {
    auto facts = healthy_facts();
    facts.counters.interval_s = 0;
    const auto findings = audit(facts);
    EXPECT_FALSE(find_id(findings, "counter_rates"));
    EXPECT_FALSE(find_id(findings, "resets"));
    EXPECT_EQ(exit_code(findings), 0);
}

TEST(DoctorCounters, CloseRateAboveTheBucketLimitIsAWarning) {
    auto facts = healthy_facts();
    facts.sysctls.max_tw_buckets = 131072;
    bump(facts, "TcpExt.TW", 2000);  // 120,000 in steady state: under the limit
    EXPECT_FALSE(find_id(audit(facts), "time_wait_steady_state"));
    bump(facts, "TcpExt.TW", 3000);  // 180,000
    const auto f = find_id(audit(facts), "time_wait_steady_state");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
    EXPECT_EQ(f->evidence.at("steady_state_time_wait"), 180000);
}

TEST(DoctorCounters, OutgoingChurnAgainstThePortBudget) {
    auto facts = healthy_facts();
    bump(facts, "TcpExt.TW", 200);
    bump(facts, "Tcp.ActiveOpens", 200);  // 12,000 a minute: under half of 28,232
    EXPECT_FALSE(find_id(audit(facts), "connection_churn"));
    bump(facts, "Tcp.ActiveOpens", 300);  // 18,000 a minute
    const auto f = find_id(audit(facts), "connection_churn");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
    EXPECT_EQ(f->evidence.at("usable_ports"), 28232);
}

TEST(DoctorCounters, ListenOverflowsPastAreInfoRisingAWarning) {
    auto facts = healthy_facts();
    bump(facts, "TcpExt.ListenOverflows", 0, 7);
    bump(facts, "TcpExt.ListenDrops", 0, 7);
    const auto past = find_id(audit(facts), "listen_overflows");
    ASSERT_TRUE(past);
    EXPECT_EQ(past->level, severity::info);
    EXPECT_EQ(past->evidence.at("TcpExt.ListenOverflows"), 7);
    bump(facts, "TcpExt.ListenOverflows", 3, 7);
    const auto rising = find_id(audit(facts), "listen_overflows");
    ASSERT_TRUE(rising);
    EXPECT_EQ(rising->level, severity::warning);
    EXPECT_EQ(rising->evidence.at("ListenOverflows_during_sample"), 3);
}

TEST(DoctorCounters, FullAcceptQueue) {
    auto facts = healthy_facts();
    facts.census->listeners = {listener_on(80, 128, 100), listener_on(443, 128, 0)};
    EXPECT_FALSE(find_id(audit(facts), "accept_queue_full"));
    facts.census->listeners[0].accept_queue = 128;
    const auto f = find_id(audit(facts), "accept_queue_full");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
    EXPECT_EQ(f->evidence.at("listeners").size(), 1u);
    EXPECT_EQ(f->evidence.at("listeners").at(0).at("listener"), "0.0.0.0:80");
    bump(facts, "TcpExt.ListenOverflows", 10);
    EXPECT_EQ(find_id(audit(facts), "accept_queue_full").value().level, severity::critical);
}

TEST(DoctorCounters, ReuseportListenersAreJudgedPerSocket) {
    auto facts = healthy_facts();
    // Four SO_REUSEPORT sockets of 128 each, 100 waiting in all: 20% full, not 78%.
    auto merged = listener_on(80, 4 * 128, 100);
    merged.sockets = 4;
    facts.census->listeners = {merged};
    EXPECT_FALSE(find_id(audit(facts), "accept_queue_full"));
    facts.sysctls.somaxconn = 128;  // each socket's backlog is at the cap
    EXPECT_TRUE(find_id(audit(facts), "somaxconn_caps_backlog"));
}

TEST(DoctorCounters, SomaxconnCappingBacklogs) {
    auto facts = healthy_facts();
    facts.census->listeners = {listener_on(80, 4096)};
    EXPECT_FALSE(find_id(audit(facts), "somaxconn_caps_backlog"));  // the default
    facts.sysctls.somaxconn = 128;
    facts.census->listeners = {listener_on(80, 128), listener_on(81, 64)};
    const auto info = find_id(audit(facts), "somaxconn_caps_backlog");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->level, severity::info);
    EXPECT_FALSE(info->sysctl);
    EXPECT_EQ(info->evidence.at("listeners").size(), 1u);
    bump(facts, "TcpExt.ListenOverflows", 0, 3);
    const auto warning = find_id(audit(facts), "somaxconn_caps_backlog");
    ASSERT_TRUE(warning);
    EXPECT_EQ(warning->level, severity::warning);
    ASSERT_TRUE(warning->sysctl);
    EXPECT_EQ(warning->sysctl->key, "net.core.somaxconn");
    EXPECT_EQ(warning->sysctl->value, "4096");
}

}  // namespace
}  // namespace waitless::doctor::test
