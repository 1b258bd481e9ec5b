#include "waitless/proxy/balancer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace waitless::proxy {
namespace {

using namespace std::chrono_literals;

std::vector<upstream_server> servers(std::string_view text) {
    return parse_upstreams(text).value();
}

balancer make(std::string_view list, std::string_view policy, health_options h = {}) {
    return balancer(servers(list), balance_policy::parse(policy).value(), h, 42);
}

TEST(Upstreams, ParseHostsPortsAndWeights) {
    auto list = servers("127.0.0.1:8080,backend.local:81=3,[::1]:9000=2");
    ASSERT_EQ(list.size(), 3u);
    EXPECT_EQ(list[0].authority(), "127.0.0.1:8080");
    EXPECT_EQ(list[0].weight, 1u);
    EXPECT_EQ(list[1].host, "backend.local");
    EXPECT_EQ(list[1].weight, 3u);
    EXPECT_EQ(list[2].host, "::1");
    EXPECT_EQ(list[2].authority(), "[::1]:9000");
    for (const char* bad : {"", "host", "host:", "host:0", "host:70000", "::1:80", "[x]:80",
                            "a:80=0", "a:80=1001", "a:80=x", "a b:80", "a:80,", ",a:80"}) {
        EXPECT_FALSE(parse_upstreams(bad)) << bad;
    }
}

TEST(BalancePolicy, ParsesEachKind) {
    EXPECT_EQ(balance_policy::parse("round_robin")->kind, balance_kind::round_robin);
    EXPECT_EQ(balance_policy::parse("least_request")->kind, balance_kind::least_request);
    EXPECT_EQ(balance_policy::parse("p2c")->kind, balance_kind::p2c);
    EXPECT_EQ(balance_policy::parse("hash:client")->kind, balance_kind::hash_client);
    auto h = balance_policy::parse("hash:header:X-User").value();
    EXPECT_EQ(h.kind, balance_kind::hash_header);
    EXPECT_EQ(h.header, "X-User");
    for (const char* bad : {"", "rr", "hash", "hash:header:", "hash:cookie:a"}) {
        EXPECT_FALSE(balance_policy::parse(bad)) << bad;
    }
}

TEST(Balancer, SmoothWeightedRoundRobinInterleaves) {
    auto b = make("a:1=5,b:1,c:1", "round_robin");
    std::string order;
    const auto now = clock::now();
    for (int i = 0; i < 7; ++i) order += "abc"[*b.pick(now)];
    EXPECT_EQ(order, "aabacaa");  // nginx's sequence for 5,1,1: no burst of five a's
}

TEST(Balancer, LeastRequestPrefersTheLeastBusy) {
    auto b = make("a:1,b:1,c:1", "least_request");
    const auto now = clock::now();
    b.started(0);
    b.started(0);
    b.started(2);
    EXPECT_EQ(b.pick(now), 1u);
    b.started(1);
    b.started(1);
    EXPECT_EQ(b.pick(now), 2u);
    b.finished(0);
    b.finished(0);
    EXPECT_EQ(b.pick(now), 0u);
}

TEST(Balancer, LeastRequestSpreadsEqualsByWeightedRoundRobin) {
    // A light load (every request done before the next) must not all go to the first server.
    auto b = make("a:1,b:1,c:1", "least_request");
    const auto now = clock::now();
    std::string order;
    for (int i = 0; i < 6; ++i) order += "abc"[*b.pick(now)];
    EXPECT_EQ(order, "abcabc");
    auto weighted = make("a:1=2,b:1", "least_request");
    order.clear();
    for (int i = 0; i < 6; ++i) order += "ab"[*weighted.pick(now)];
    EXPECT_EQ(order, "abaaba");
    // Among the least loaded only: c is busy, a and b share.
    auto busy = make("a:1,b:1,c:1", "least_request");
    busy.started(2);
    order.clear();
    for (int i = 0; i < 4; ++i) order += "abc"[*busy.pick(now)];
    EXPECT_EQ(order, "abab");
}

TEST(Balancer, PowerOfTwoChoicesAvoidsTheLoadedServer) {
    auto b = make("a:1,b:1,c:1,d:1", "p2c");
    const auto now = clock::now();
    for (int i = 0; i < 50; ++i) b.started(3);  // d is swamped
    std::map<std::size_t, int> picks;
    for (int i = 0; i < 4000; ++i) ++picks[*b.pick(now)];
    // d wins only when both draws are d: about 1/16 of the time.
    EXPECT_LT(picks[3], 4000 / 10);
    EXPECT_GT(picks[0], 4000 / 5);
}

TEST(Balancer, HashingIsStableAndMovesOnlyTheRemovedServersKeys) {
    auto three = make("a:1,b:1,c:1", "hash:header:X-User");
    auto two = make("a:1,b:1", "hash:header:X-User");
    const auto now = clock::now();
    int moved = 0, kept = 0;
    for (int k = 0; k < 3000; ++k) {
        const auto key = "user-" + std::to_string(k);
        const auto first = *three.pick(now, key);
        EXPECT_EQ(three.pick(now, key), first);  // the same key, the same server
        if (first == 2) continue;                // c's keys must go somewhere
        (*two.pick(now, key) == first ? kept : moved)++;
    }
    EXPECT_EQ(moved, 0);
    EXPECT_GT(kept, 1500);
}

TEST(Balancer, HashingHonoursWeights) {
    auto b = make("a:1=3,b:1", "hash:client");
    const auto now = clock::now();
    int a = 0;
    for (int k = 0; k < 4000; ++k) a += *b.pick(now, "10.0.0." + std::to_string(k)) == 0;
    EXPECT_NEAR(a, 3000, 200);
}

TEST(Balancer, ConsecutiveFailuresEjectForAGrowingTime) {
    health_options h;
    h.max_failures = 2;
    h.base_ejection = 100ms;
    h.max_ejection = 250ms;
    auto b = make("a:1,b:1", "round_robin", h);
    auto now = clock::now();
    b.report_failure(0, now);
    EXPECT_FALSE(b.ejected(0, now));
    b.report_failure(0, now);
    EXPECT_TRUE(b.ejected(0, now));
    EXPECT_EQ(b.ejections(), 1u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(b.pick(now), 1u);
    // Back after 100 ms; failing again at once ejects it for 200 ms, then the cap.
    now += 101ms;
    EXPECT_FALSE(b.ejected(0, now));
    b.report_failure(0, now);
    b.report_failure(0, now);
    EXPECT_TRUE(b.ejected(0, now + 199ms));
    EXPECT_FALSE(b.ejected(0, now + 201ms));
    now += 201ms;
    b.report_failure(0, now);
    b.report_failure(0, now);
    EXPECT_TRUE(b.ejected(0, now + 249ms));
    EXPECT_FALSE(b.ejected(0, now + 251ms));
    // Once it serves again, the next ejection is short again.
    now += 251ms;
    b.report_success(0);
    b.report_failure(0, now);
    b.report_failure(0, now);
    EXPECT_FALSE(b.ejected(0, now + 101ms));
}

TEST(Balancer, WithEveryServerEjectedNoneIsPickedAndRetryAfterSaysWhen) {
    health_options h;
    h.max_failures = 1;
    h.base_ejection = 1000ms;
    auto b = make("a:1,b:1", "least_request", h);
    const auto now = clock::now();
    b.report_failure(0, now);
    b.report_failure(1, now + 300ms);
    EXPECT_EQ(b.pick(now + 400ms), std::nullopt);
    EXPECT_EQ(b.retry_after(now + 400ms), 600ms);
    EXPECT_EQ(b.pick(now + 1001ms), 0u);
}

TEST(Balancer, ExcludedServersAreSkipped) {
    const auto now = clock::now();
    for (const char* policy : {"round_robin", "least_request", "p2c"}) {
        auto b = make("a:1,b:1,c:1", policy);
        const std::size_t tried[] = {0, 2};
        for (int i = 0; i < 20; ++i) EXPECT_EQ(b.pick(now, {}, tried), 1u) << policy;
        const std::size_t all[] = {0, 1, 2};
        EXPECT_EQ(b.pick(now, {}, all), std::nullopt) << policy;
    }
}

TEST(RetryBudget, AllowsAFifthOfTheRequestsAsRetries) {
    retry_budget budget(0.2, 10s);
    auto now = clock::now();
    for (int i = 0; i < 100; ++i) budget.on_request(now);
    int spent = 0;
    for (int i = 0; i < 50; ++i) spent += budget.try_spend(now);
    EXPECT_EQ(spent, 20);
    // A window later the old requests are gone, and so is the room they made.
    now += 11s;
    EXPECT_FALSE(budget.try_spend(now));
    for (int i = 0; i < 10; ++i) budget.on_request(now);
    EXPECT_TRUE(budget.try_spend(now));
    EXPECT_TRUE(budget.try_spend(now));
    EXPECT_FALSE(budget.try_spend(now));
}

}  // namespace
}  // namespace waitless::proxy
