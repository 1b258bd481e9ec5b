// The port budget checks: range size and parity, listeners and reserved ports in the range,
// destination occupancy.
#include <gtest/gtest.h>

#include "facts.hpp"

namespace waitless::doctor::test {
namespace {

TEST(DoctorPorts, DefaultRangeIsFine) {
    const auto findings = audit(healthy_facts());
    for (const char* id : {"port_range_small", "port_range_parity", "listeners_in_port_range",
                           "reserved_ports", "destination_occupancy"}) {
        EXPECT_FALSE(find_id(findings, id)) << id;
    }
}

TEST(DoctorPorts, TinyRangeIsCriticalAndProposesTheDefault) {
    auto facts = healthy_facts();
    set_port_range(facts, 40000, 40199);
    const auto f = find_id(audit(facts), "port_range_small");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::critical);
    EXPECT_EQ(f->evidence.at("usable_ports"), 200);
    EXPECT_EQ(f->evidence.at("net.ipv4.ip_local_port_range"), "40000 40199");
    ASSERT_TRUE(f->sysctl);
    EXPECT_EQ(f->sysctl->key, "net.ipv4.ip_local_port_range");
    EXPECT_EQ(f->sysctl->value, "32768 60999");
}

TEST(DoctorPorts, SmallRangeIsAWarning) {
    auto facts = healthy_facts();
    set_port_range(facts, 50000, 54999);
    const auto f = find_id(audit(facts), "port_range_small");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
    set_port_range(facts, 40000, 49999);
    EXPECT_FALSE(find_id(audit(facts), "port_range_small"));
}

TEST(DoctorPorts, ReservedPortsEatingTheRangeAreNamedNotTheRange) {
    auto facts = healthy_facts();
    set_port_range(facts, 32768, 60999, {{33000, 59999}});
    const auto findings = audit(facts);
    const auto small = find_id(findings, "port_range_small");
    ASSERT_TRUE(small);
    EXPECT_FALSE(small->sysctl);
    EXPECT_NE(small->fix.find("ip_local_reserved_ports"), std::string::npos);
    const auto reserved = find_id(findings, "reserved_ports");
    ASSERT_TRUE(reserved);
    EXPECT_EQ(reserved->level, severity::info);
    EXPECT_EQ(reserved->evidence.at("reserved_inside_range"), 27000);
}

TEST(DoctorPorts, ReservedPortsOutsideTheRangeAreNoted) {
    auto facts = healthy_facts();
    set_port_range(facts, 32768, 60999, {{8080, 8080}, {40000, 40009}});
    const auto f = find_id(audit(facts), "reserved_ports");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->evidence.at("reserved_inside_range"), 10);
    EXPECT_EQ(f->evidence.at("reserved_outside_range"), "8080");
}

TEST(DoctorPorts, SameParityEndsAreAWarningWithAFixedRange) {
    auto facts = healthy_facts();
    set_port_range(facts, 32768, 61000);
    const auto f = find_id(audit(facts), "port_range_parity");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
    ASSERT_TRUE(f->sysctl);
    EXPECT_EQ(f->sysctl->value, "32768 60999");
}

TEST(DoctorPorts, ParityLeavesTheSysctlToTheSizeFindingWhenBothApply) {
    auto facts = healthy_facts();
    set_port_range(facts, 40000, 40200);
    const auto findings = audit(facts);
    ASSERT_TRUE(find_id(findings, "port_range_small"));
    const auto parity = find_id(findings, "port_range_parity");
    ASSERT_TRUE(parity);
    EXPECT_FALSE(parity->sysctl);
}

TEST(DoctorPorts, ListenersInsideTheRangeShouldBeReserved) {
    auto facts = healthy_facts();
    set_port_range(facts, 32768, 60999, {{50000, 50010}});
    facts.census->listeners = {listener_on(80), listener_on(45000), listener_on(45000),
                               listener_on(50005), listener_on(45001)};
    const auto f = find_id(audit(facts), "listeners_in_port_range");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
    EXPECT_EQ(f->evidence.at("ports_in_range"), 2);  // 45000 once; 50005 is reserved
    ASSERT_TRUE(f->sysctl);
    EXPECT_EQ(f->sysctl->key, "net.ipv4.ip_local_reserved_ports");
    EXPECT_EQ(f->sysctl->value, "45000-45001,50000-50010");
}

TEST(DoctorPorts, ListenersOutsideOrReservedSayNothing) {
    auto facts = healthy_facts();
    set_port_range(facts, 32768, 60999, {{45000, 45000}});
    facts.census->listeners = {listener_on(80), listener_on(45000), listener_on(61000)};
    EXPECT_FALSE(find_id(audit(facts), "listeners_in_port_range"));
}

TEST(DoctorPorts, OccupancyAboveHalfIsAWarningAboveNinetyCritical) {
    auto facts = healthy_facts();
    facts.census->destinations = {destination_to("192.0.2.1", 443, 100, 200, false)};
    EXPECT_FALSE(find_id(audit(facts), "destination_occupancy"));  // exactly 50%

    facts.census->destinations = {destination_to("192.0.2.1", 443, 120, 200, false),
                                  destination_to("192.0.2.2", 443, 10, 200, false)};
    const auto warning = find_id(audit(facts), "destination_occupancy");
    ASSERT_TRUE(warning);
    EXPECT_EQ(warning->level, severity::warning);
    EXPECT_EQ(warning->evidence.at("destinations_above_50_percent"), 1);

    facts.census->destinations.push_back(destination_to("198.51.100.9", 80, 190, 200, false));
    const auto findings = audit(facts);
    const auto critical = find_id(findings, "destination_occupancy");
    ASSERT_TRUE(critical);
    EXPECT_EQ(critical->level, severity::critical);
    EXPECT_EQ(critical->evidence.at("destinations_above_50_percent"), 2);
    EXPECT_EQ(critical->evidence.at("destinations").at(0).at("destination"), "198.51.100.9:80");
    EXPECT_NE(critical->title.find("198.51.100.9:80 at 95%"), std::string::npos);
    // Not covered by tw_reuse: a commented-out mitigation, after the root fix.
    ASSERT_TRUE(critical->sysctl);
    EXPECT_TRUE(critical->sysctl->mitigation_only);
    EXPECT_EQ(critical->sysctl->value, "1");
    EXPECT_EQ(critical->fix.rfind("The root fix", 0), 0u);
}

TEST(DoctorPorts, OccupancyCoveredByReuseProposesNoMitigation) {
    auto facts = healthy_facts();
    facts.census->destinations = {destination_to("127.0.0.1", 8080, 150, 200, true)};
    const auto f = find_id(audit(facts), "destination_occupancy");
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->sysctl);
    EXPECT_EQ(f->evidence.at("destinations").at(0).at("tw_reuse_applies"), true);
}

}  // namespace
}  // namespace waitless::doctor::test
