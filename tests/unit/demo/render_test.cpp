// The demo's reports from a hand-made outcome: the table, the JSON keys the issue fixes, the
// skipped namespace part, and an HTML page that is well formed enough and self-contained.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "waitless/demo/demo.hpp"

namespace waitless::demo {
namespace {

scenario_result row(std::string name, double rps, std::uint64_t client, std::uint64_t server) {
    scenario_result s;
    s.name = std::move(name);
    s.title = "title of " + s.name;
    s.lesson = "lesson of " + s.name + " <with> & markup";
    s.rps = rps;
    s.p99_ms = 1.5;
    s.connect_p99_ms = 0.25;
    s.connects = 12345;
    s.requests = 12345;
    s.time_wait_client = client;
    s.time_wait_server = server;
    s.time_wait_series = {{0, 0, 0}, {250, client / 2, server / 2}, {1000, client, server}};
    return s;
}

outcome sample() {
    outcome o;
    o.scenarios = {row("short", 14000.4, 15000, 0), row("keepalive", 100000, 0, 0),
                   row("close-server-first", 18000, 0, 14000)};
    o.scenarios[1].connect_p99_ms = 0;
    o.scenarios[1].time_wait_series.clear();  // as when the census could not be taken
    o.exhaustion.port_range = "40000 40999";
    o.exhaustion.skipped_reason = "needs root to create a network namespace";
    o.doctor_ran = true;
    doctor::finding f;
    f.id = "tw_reuse_off";
    f.level = doctor::severity::warning;
    f.title = "tcp_tw_reuse is 0";
    o.findings.push_back(f);
    return o;
}

TEST(DemoRender, TextHasTheTableLessonsSkipReasonAndFindings) {
    const auto text = render_text(sample());
    EXPECT_NE(text.find("requests/s"), std::string::npos);
    EXPECT_NE(text.find("short                    14,000"), std::string::npos) << text;
    EXPECT_NE(text.find("15,000"), std::string::npos);
    EXPECT_NE(text.find("  short: lesson of short"), std::string::npos);
    EXPECT_NE(text.find("skipped: needs root"), std::string::npos);
    EXPECT_NE(text.find("warning  tcp_tw_reuse is 0 (tw_reuse_off)"), std::string::npos) << text;
}

TEST(DemoRender, JsonHasTheKeysOfTheIssue) {
    const auto j = render_json(sample());
    ASSERT_EQ(j["scenarios"].size(), 3U);
    const auto& s = j["scenarios"][0];
    EXPECT_EQ(s["name"], "short");
    EXPECT_DOUBLE_EQ(s["rps"].get<double>(), 14000.4);
    EXPECT_DOUBLE_EQ(s["p99_ms"].get<double>(), 1.5);
    EXPECT_EQ(s["connects"], 12345);
    EXPECT_EQ(s["time_wait_client"], 15000);
    EXPECT_EQ(s["time_wait_server"], 0);
    EXPECT_EQ(s["errors"], 0);
    ASSERT_EQ(s["time_wait_series"].size(), 3U);
    EXPECT_EQ(s["time_wait_series"][1]["at_ms"], 250);
    EXPECT_EQ(s["time_wait_series"][1]["client"], 7500);
    EXPECT_EQ(s["time_wait_series"][2]["server"], 0);
    EXPECT_TRUE(j["scenarios"][1]["time_wait_series"].is_array());
    EXPECT_TRUE(j["scenarios"][1]["time_wait_series"].empty());
    EXPECT_EQ(j["exhaustion"]["ran"], false);
    EXPECT_EQ(j["exhaustion"]["skipped_reason"], "needs root to create a network namespace");
    EXPECT_EQ(j["doctor"]["findings"][0]["id"], "tw_reuse_off");
    EXPECT_EQ(j["doctor"]["findings"][0]["severity"], "warning");
}

TEST(DemoRender, HtmlIsSelfContainedWithChartsAndEscapedText) {
    const auto page = render_html(sample());
    EXPECT_TRUE(page.starts_with("<!DOCTYPE html>"));
    EXPECT_TRUE(page.ends_with("</html>\n"));
    const auto count = [&](std::string_view what) {
        std::size_t n = 0;
        for (auto at = page.find(what); at != std::string::npos; at = page.find(what, at + 1)) ++n;
        return n;
    };
    // TIME_WAIT over time, requests/s, TIME_WAIT, p99 for the loopback part.
    EXPECT_EQ(count("<svg"), 4U);
    EXPECT_EQ(count("<svg"), count("</svg>"));
    EXPECT_LT(page.find("TIME_WAIT over time"), page.find("aria-label=\"requests/s\""));
    // A line per side for each scenario with samples; "not measured" for the one without.
    EXPECT_EQ(count("<polyline"), 2U * 2);
    EXPECT_EQ(count("not measured"), 1U);
    EXPECT_NE(page.find("<title>short, client side: 15000 at the end</title>"), std::string::npos);
    EXPECT_NE(page.find(">20k</text>"), std::string::npos);  // the y axis, from 15,000 up
    EXPECT_GE(count("<rect"), 3U * 4);  // a bar per scenario and series, and the legends
    EXPECT_EQ(count("<script"), 0U);
    EXPECT_EQ(count("src="), 0U);
    EXPECT_EQ(count("<with>"), 0U);  // lessons are escaped
    EXPECT_NE(page.find("&lt;with&gt; &amp; markup"), std::string::npos);
    EXPECT_NE(page.find("skipped: needs root"), std::string::npos);
}

}  // namespace
}  // namespace waitless::demo
