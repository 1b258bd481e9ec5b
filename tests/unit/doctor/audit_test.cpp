// audit() as a whole: a healthy host, ordering, exit codes, and advice it must never give.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "facts.hpp"

namespace waitless::doctor::test {
namespace {

// Everything wrong at once, so every check has something to say.
host_facts sick_facts() {
    auto facts = healthy_facts();
    facts.settings.tw_reuse = 0;
    facts.settings.timestamps = 0;
    set_port_range(facts, 40000, 40200, {{40100, 40110}});
    facts.sysctls.max_tw_buckets = 100;
    facts.sysctls.fin_timeout = 5;
    facts.sysctls.somaxconn = 128;
    facts.sockstat_time_wait = 100;
    facts.census->time_wait = 100;
    facts.census->destinations = {destination_to("192.0.2.1", 443, 180, 190, false)};
    facts.census->listeners = {listener_on(40050, 128, 128)};
    facts.sysctl_files = {
        {"/etc/sysctl.conf", 1, "net.ipv4.tcp_tw_recycle", "1", "net.ipv4.tcp_tw_recycle=1"}};
    bump(facts, "TcpExt.TW", 5000);
    bump(facts, "Tcp.ActiveOpens", 5000);
    bump(facts, "TcpExt.TCPTimeWaitOverflow", 4900, 100);
    bump(facts, "TcpExt.ListenOverflows", 5, 5);
    bump(facts, "Tcp.EstabResets", 1);
    return facts;
}

TEST(DoctorAudit, HealthyHostHasNothingAboveInfo) {
    const auto findings = audit(healthy_facts());
    EXPECT_EQ(ids(findings), std::vector<std::string>{"counter_rates"});
    EXPECT_EQ(worst(findings), severity::info);
    EXPECT_EQ(exit_code(findings), 0);
}

TEST(DoctorAudit, MostSevereFirstAndExitCodes) {
    const auto findings = audit(sick_facts());
    ASSERT_FALSE(findings.empty());
    EXPECT_TRUE(std::ranges::is_sorted(findings, std::greater<>{}, &finding::level));
    EXPECT_EQ(worst(findings), severity::critical);
    EXPECT_EQ(exit_code(findings), 2);
    EXPECT_EQ(exit_code({}), 0);
    finding one;
    one.level = severity::warning;
    EXPECT_EQ(exit_code({one}), 1);
    one.level = severity::info;
    EXPECT_EQ(exit_code({one}), 0);
}

TEST(DoctorAudit, EveryCheckSpeaksUpOnASickHost) {
    const auto found = ids(audit(sick_facts()));
    for (const char* id :
         {"tw_reuse_off", "timestamps_off", "fin_timeout_not_time_wait", "tw_recycle_configured",
          "port_range_small", "port_range_parity", "listeners_in_port_range", "reserved_ports",
          "destination_occupancy", "tw_buckets_lowered", "tw_buckets_full", "tw_overflow",
          "counter_rates", "time_wait_steady_state", "connection_churn", "resets",
          "listen_overflows", "accept_queue_full", "somaxconn_caps_backlog"}) {
        EXPECT_NE(std::ranges::find(found, id), found.end()) << id;
    }
}

TEST(DoctorAudit, EveryFindingIsComplete) {
    for (const auto& f : audit(sick_facts())) {
        EXPECT_FALSE(f.id.empty());
        EXPECT_FALSE(f.title.empty()) << f.id;
        EXPECT_FALSE(f.why.empty()) << f.id;
        EXPECT_FALSE(f.fix.empty()) << f.id;
        EXPECT_TRUE(f.evidence.is_object()) << f.id;
        EXPECT_FALSE(f.evidence.empty()) << f.id;
    }
}

TEST(DoctorAudit, NeverGivesTheCommonWrongAdvice) {
    const auto findings = audit(sick_facts());
    // Settings proposed: never fin_timeout, never recycle on, never fewer buckets.
    const std::regex fin_timeout_advice(R"(tcp_fin_timeout\s*=)");
    const std::regex recycle_on(R"(tcp_tw_recycle\s*=\s*1)");
    const std::regex lower_buckets(R"(lower(ing)? (net\.ipv4\.)?tcp_max_tw_buckets)");
    for (const auto& f : findings) {
        if (f.sysctl) {
            EXPECT_NE(f.sysctl->key, "net.ipv4.tcp_fin_timeout") << f.id;
            if (f.sysctl->key == "net.ipv4.tcp_tw_recycle") {
                EXPECT_EQ(f.sysctl->value, "0");
            }
            if (f.sysctl->key == "net.ipv4.tcp_max_tw_buckets") {
                EXPECT_GT(std::stoll(f.sysctl->value), 100) << f.id;
            }
            // tw_reuse = 1 only ever as a commented-out mitigation.
            if (f.sysctl->key == "net.ipv4.tcp_tw_reuse" && f.sysctl->value == "1") {
                EXPECT_TRUE(f.sysctl->mitigation_only) << f.id;
            }
        }
        EXPECT_FALSE(std::regex_search(f.fix, fin_timeout_advice)) << f.id << ": " << f.fix;
        EXPECT_FALSE(std::regex_search(f.fix, recycle_on)) << f.id << ": " << f.fix;
        if (std::regex_search(f.fix, lower_buckets)) {
            EXPECT_NE(f.fix.find("not lower"), std::string::npos) << f.id << ": " << f.fix;
        }
    }
}

TEST(DoctorAudit, MissingCensusIsNotedAndSettingsStillChecked) {
    auto facts = healthy_facts();
    facts.census.reset();
    facts.census_error = "Operation not permitted";
    facts.settings.tw_reuse = 0;
    const auto findings = audit(facts);
    const auto f = find_id(findings, "census_unavailable");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->evidence.at("error"), "Operation not permitted");
    EXPECT_TRUE(find_id(findings, "tw_reuse_off"));
}

}  // namespace
}  // namespace waitless::doctor::test
