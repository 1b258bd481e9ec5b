#include "waitless/census/render.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

namespace waitless::census {
namespace {

snapshot sample() {
    snapshot s;
    s.settings.port_range = {40000, 40999};
    s.settings.usable_ports = 1000;
    s.settings.tw_reuse = 0;
    s.states[static_cast<std::size_t>(tcp_state::time_wait)] = 3;
    s.time_wait = 3;
    s.time_wait_client = 2;
    s.time_wait_server = 1;
    s.expiring_within = {0, 1, 1, 2, 3};
    destination d;
    d.local_ip = *core::ip_address::parse("127.0.0.1");
    d.remote_ip = *core::ip_address::parse("::1");
    d.remote_port = 8080;
    d.time_wait = 2;
    d.usable_ports = 1000;
    d.occupancy = 0.002;
    d.closes_per_s = 0.2;
    d.seconds_to_exhaustion = 12.5;
    s.destinations = {d, d};
    s.destinations[1].remote_port = 8081;
    s.destinations[1].seconds_to_exhaustion.reset();
    s.listeners = {{*core::ip_address::parse("0.0.0.0"), 80, 1, 128, 0, 1}};
    return s;
}

TEST(RenderJson, HasTheDocumentedKeys) {
    const auto j = to_json(sample());
    EXPECT_EQ(j["states"]["time_wait"], 3);
    EXPECT_EQ(j["port_range"], nlohmann::json::array({40000, 40999}));
    EXPECT_EQ(j["tw_reuse"], 0);
    const auto& tw = j["time_wait"];
    EXPECT_EQ(tw["total"], 3);
    EXPECT_EQ(tw["client_side"], 2);
    EXPECT_EQ(tw["server_side"], 1);
    for (const char* key : {"1s", "5s", "10s", "30s", "60s"})
        EXPECT_TRUE(tw["expiring_within"].contains(key));
    ASSERT_EQ(tw["destinations"].size(), 2u);
    const auto& d = tw["destinations"][0];
    for (const char* key :
         {"local_ip", "remote_ip", "remote_port", "time_wait", "active", "usable_ports",
          "occupancy", "closes_per_s", "reuse_applies", "seconds_to_exhaustion"}) {
        EXPECT_TRUE(d.contains(key)) << key;
    }
    EXPECT_EQ(d["remote_ip"], "::1");
    EXPECT_EQ(d["seconds_to_exhaustion"], 12.5);
    EXPECT_TRUE(tw["destinations"][1]["seconds_to_exhaustion"].is_null());
    EXPECT_EQ(tw["listeners"][0]["local_port"], 80);
    EXPECT_EQ(tw["listeners"][0]["time_wait"], 1);
    EXPECT_EQ(to_json(sample(), 1)["time_wait"]["destinations"].size(), 1u);
}

TEST(RenderPrometheus, EveryMetricHasHelpAndTypeAndValidLines) {
    const auto text = to_prometheus(sample());
    std::istringstream lines(text);
    std::string line;
    std::set<std::string> typed;
    const std::regex sample_line(
        R"(^(waitless_[a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+$)");
    int samples = 0;
    while (std::getline(lines, line)) {
        std::smatch match;
        if (line.starts_with("# TYPE ")) {
            typed.insert(line.substr(7, line.find(' ', 7) - 7));
        } else if (!line.starts_with("# HELP ")) {
            ASSERT_TRUE(std::regex_match(line, match, sample_line)) << line;
            EXPECT_TRUE(typed.contains(match[1].str())) << line;
            ++samples;
        }
    }
    EXPECT_GT(samples, 10);
    EXPECT_NE(text.find("waitless_time_wait_sockets{side=\"server\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("waitless_destination_seconds_to_exhaustion{local_ip=\"127.0.0.1\","
                        "remote_ip=\"::1\",remote_port=\"8080\"} 12.5\n"),
              std::string::npos);
    // No sample for a destination that is not heading for exhaustion.
    EXPECT_EQ(text.find("remote_port=\"8081\"} 12.5"), std::string::npos);
}

TEST(RenderTable, ColoursOnlyWhenAsked) {
    const auto plain = to_table(sample(), 10, false);
    EXPECT_EQ(plain.find('\x1b'), std::string::npos);
    EXPECT_NE(plain.find("127.0.0.1 -> [::1]:8080"), std::string::npos);
    EXPECT_NE(plain.find("12.5s"), std::string::npos);
    EXPECT_NE(to_table(sample(), 10, true).find('\x1b'), std::string::npos);
    EXPECT_NE(to_table(sample(), 1, false).find("1 more destinations"), std::string::npos);
}

}  // namespace
}  // namespace waitless::census
