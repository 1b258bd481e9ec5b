// The settings checks: tcp_tw_reuse, tcp_timestamps, tcp_fin_timeout, tcp_tw_recycle.
#include <gtest/gtest.h>

#include "facts.hpp"

namespace waitless::doctor::test {
namespace {

TEST(DoctorSettings, TwReuseOffIsAWarningThatRestoresTheDefault) {
    auto facts = healthy_facts();
    facts.settings.tw_reuse = 0;
    const auto findings = audit(facts);
    const auto f = find_id(findings, "tw_reuse_off");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
    EXPECT_EQ(f->evidence.at("net.ipv4.tcp_tw_reuse"), 0);
    ASSERT_TRUE(f->sysctl);
    EXPECT_EQ(f->sysctl->key, "net.ipv4.tcp_tw_reuse");
    EXPECT_EQ(f->sysctl->value, "2");
    EXPECT_FALSE(f->sysctl->mitigation_only);
    // The first fix is the default, then connection reuse; never tw_reuse = 1.
    EXPECT_NE(f->fix.find("reuse connections"), std::string::npos);
}

TEST(DoctorSettings, TwReuseOneIsInfoWithTheExpertCaveat) {
    auto facts = healthy_facts();
    facts.settings.tw_reuse = 1;
    const auto findings = audit(facts);
    const auto f = find_id(findings, "tw_reuse_all");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::info);
    EXPECT_NE(f->why.find("advice of experts"), std::string::npos);
    EXPECT_NE(f->why.find("never helps a server"), std::string::npos);
    EXPECT_FALSE(f->sysctl);
}

TEST(DoctorSettings, UndocumentedTwReuseValueIsAWarning) {
    auto facts = healthy_facts();
    facts.settings.tw_reuse = 7;
    const auto f = find_id(audit(facts), "tw_reuse_unknown");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
}

TEST(DoctorSettings, DefaultReuseReportsDestinationsItDoesNotCover) {
    auto facts = healthy_facts();
    facts.census->destinations = {destination_to("192.0.2.7", 443, 900, 28232, false),
                                  destination_to("127.0.0.1", 8080, 500, 28232, true)};
    const auto findings = audit(facts);
    const auto f = find_id(findings, "tw_reuse_coverage");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::info);
    EXPECT_EQ(f->evidence.at("destinations_not_covered"), 1);
    EXPECT_EQ(f->evidence.at("time_wait_not_covered"), 900);
    EXPECT_EQ(f->evidence.at("destinations").at(0).at("destination"), "192.0.2.7:443");
    // Mitigation only, after the root fix, with the caveat.
    EXPECT_LT(f->fix.find("reuse connections"), f->fix.find("tcp_tw_reuse = 1"));
    EXPECT_NE(f->fix.find("advice of experts"), std::string::npos);
}

TEST(DoctorSettings, DefaultReuseCoveringEverythingSaysNothing) {
    auto facts = healthy_facts();
    facts.census->destinations = {destination_to("127.0.0.1", 8080, 500, 28232, true)};
    EXPECT_FALSE(find_id(audit(facts), "tw_reuse_coverage"));
}

TEST(DoctorSettings, TimestampsOffIsCriticalWhenReuseIsWanted) {
    auto facts = healthy_facts();
    facts.settings.timestamps = 0;
    const auto findings = audit(facts);
    const auto f = find_id(findings, "timestamps_off");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::critical);
    ASSERT_TRUE(f->sysctl);
    EXPECT_EQ(f->sysctl->key, "net.ipv4.tcp_timestamps");
    EXPECT_EQ(f->sysctl->value, "1");

    facts.settings.tw_reuse = 0;
    const auto without_reuse = find_id(audit(facts), "timestamps_off");
    ASSERT_TRUE(without_reuse);
    EXPECT_EQ(without_reuse->level, severity::warning);
}

TEST(DoctorSettings, FinTimeoutIsExplainedNotRecommended) {
    auto facts = healthy_facts();
    EXPECT_FALSE(find_id(audit(facts), "fin_timeout_not_time_wait"));
    facts.sysctls.fin_timeout = 10;
    facts.sysctl_files = {{"/etc/sysctl.d/10-tune.conf", 4, "net.ipv4.tcp_fin_timeout", "10",
                           "net.ipv4.tcp_fin_timeout = 10"}};
    const auto f = find_id(audit(facts), "fin_timeout_not_time_wait");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::info);
    EXPECT_EQ(f->evidence.at("net.ipv4.tcp_fin_timeout"), 10);
    EXPECT_EQ(f->evidence.at("set_in").at(0).at("line"), 4);
    EXPECT_NE(f->title.find("does not shorten TIME_WAIT"), std::string::npos);
    EXPECT_FALSE(f->sysctl);
}

TEST(DoctorSettings, TwRecycleLinesAreReportedWithFileAndLine) {
    auto facts = healthy_facts();
    facts.sysctl_files = {
        {"/etc/sysctl.conf", 12, "net.ipv4.tcp_tw_recycle", "1", "net.ipv4.tcp_tw_recycle = 1"},
        {"/usr/lib/sysctl.d/50-old.conf", 3, "net.ipv4.tcp_tw_recycle", "0",
         "-net/ipv4/tcp_tw_recycle=0"},
        {"/etc/sysctl.conf", 13, "net.ipv4.tcp_tw_reuse", "2", "net.ipv4.tcp_tw_reuse = 2"}};
    const auto findings = audit(facts);
    std::vector<const finding*> recycle;
    for (const auto& f : findings) {
        if (f.id == "tw_recycle_configured") recycle.push_back(&f);
    }
    ASSERT_EQ(recycle.size(), 2u);
    EXPECT_EQ(recycle[0]->level, severity::warning);
    EXPECT_EQ(recycle[0]->evidence.at("file"), "/etc/sysctl.conf");
    EXPECT_EQ(recycle[0]->evidence.at("line"), 12);
    EXPECT_NE(recycle[0]->title.find("/etc/sysctl.conf line 12"), std::string::npos);
    EXPECT_NE(recycle[0]->fix.find("Delete line 12 of /etc/sysctl.conf"), std::string::npos);
    EXPECT_EQ(recycle[1]->evidence.at("file"), "/usr/lib/sysctl.d/50-old.conf");
}

TEST(DoctorSettings, LiveTwRecycleOnOldKernelsIsCritical) {
    auto facts = healthy_facts();
    facts.sysctls.tw_recycle = 1;
    const auto f = find_id(audit(facts), "tw_recycle_on");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::critical);
    ASSERT_TRUE(f->sysctl);
    EXPECT_EQ(f->sysctl->value, "0");
}

}  // namespace
}  // namespace waitless::doctor::test
