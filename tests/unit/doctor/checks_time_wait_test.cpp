// The TIME_WAIT table checks: tcp_max_tw_buckets lowered or full, TCPTimeWaitOverflow.
#include <gtest/gtest.h>

#include "facts.hpp"

namespace waitless::doctor::test {
namespace {

TEST(DoctorTimeWait, LoweredBucketsAreAWarningThatRestoresTheDefault) {
    auto facts = healthy_facts();
    facts.sysctls.max_tw_buckets = 100;
    const auto f = find_id(audit(facts), "tw_buckets_lowered");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
    EXPECT_EQ(f->evidence.at("net.ipv4.tcp_max_tw_buckets"), 100);
    EXPECT_EQ(f->evidence.at("default"), 131072);
    ASSERT_TRUE(f->sysctl);
    EXPECT_EQ(f->sysctl->value, "131072");
    EXPECT_NE(f->why.find("hides"), std::string::npos);
}

TEST(DoctorTimeWait, BucketsAtOrAboveTheDefaultSayNothing) {
    auto facts = healthy_facts();
    facts.sysctls.max_tw_buckets = 262144;
    EXPECT_FALSE(find_id(audit(facts), "tw_buckets_lowered"));
    // Without tcp_ehash_entries the default is unknown: only 0 is certainly wrong.
    facts.sysctls.ehash_entries.reset();
    facts.sysctls.max_tw_buckets = 100;
    EXPECT_FALSE(find_id(audit(facts), "tw_buckets_lowered"));
    facts.sysctls.max_tw_buckets = 0;
    EXPECT_TRUE(find_id(audit(facts), "tw_buckets_lowered"));
}

TEST(DoctorTimeWait, TableNearlyFullIsAWarning) {
    auto facts = healthy_facts();
    facts.sysctls.max_tw_buckets = 100;
    facts.sockstat_time_wait = 89;
    EXPECT_FALSE(find_id(audit(facts), "tw_buckets_full"));
    facts.sockstat_time_wait = 100;
    const auto f = find_id(audit(facts), "tw_buckets_full");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->level, severity::warning);
    EXPECT_EQ(f->evidence.at("time_wait"), 100);
    EXPECT_EQ(f->evidence.at("used"), 1.0);
}

TEST(DoctorTimeWait, CensusCountIsUsedWithoutSockstat) {
    auto facts = healthy_facts();
    facts.sysctls.max_tw_buckets = 100;
    facts.sockstat_time_wait.reset();
    facts.census->time_wait = 95;
    facts.census->time_wait_client = 95;
    const auto f = find_id(audit(facts), "tw_buckets_full");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->evidence.at("time_wait_client_side"), 95);
}

TEST(DoctorTimeWait, OverflowCounterIsNamedAndRisingIsCritical) {
    auto facts = healthy_facts();
    bump(facts, "TcpExt.TCPTimeWaitOverflow", 0, 260);
    const auto past = find_id(audit(facts), "tw_overflow");
    ASSERT_TRUE(past);
    EXPECT_EQ(past->level, severity::warning);
    EXPECT_EQ(past->evidence.at("TcpExt.TCPTimeWaitOverflow"), 260);
    EXPECT_EQ(past->evidence.at("during_sample"), 0);
    EXPECT_NE(past->title.find("TCPTimeWaitOverflow is 260"), std::string::npos);
    EXPECT_NE(past->fix.find("Do not lower"), std::string::npos);

    bump(facts, "TcpExt.TCPTimeWaitOverflow", 5, 260);
    facts.sysctls.max_tw_buckets = 100;
    const auto rising = find_id(audit(facts), "tw_overflow");
    ASSERT_TRUE(rising);
    EXPECT_EQ(rising->level, severity::critical);
    EXPECT_NE(rising->fix.find("Restore net.ipv4.tcp_max_tw_buckets to its default 131072"),
              std::string::npos);
}

TEST(DoctorTimeWait, NoOverflowSaysNothing) {
    EXPECT_FALSE(find_id(audit(healthy_facts()), "tw_overflow"));
}

}  // namespace
}  // namespace waitless::doctor::test
