// `waitless demo` end to end in its shortened mode (--seconds 1): every scenario in the JSON,
// TIME_WAIT where each cause puts it and none where each fix runs, each scenario's TIME_WAIT
// over time, the port exhaustion part when root, a progress line per scenario, the HTML report,
// and one-line errors for bad flags.
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli.hpp"
#include "support/process.hpp"
#include "waitless/core/procfs.hpp"

namespace waitless::test {
namespace {

struct demo_run {
    process_result process;
    nlohmann::json json;
};

demo_run run_demo() {
    demo_run r;
    r.process = run_shell(waitless_binary() + " demo --seconds 1 --json");
    try {
        r.json = nlohmann::json::parse(r.process.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << e.what() << "\n" << r.process.out << "\n" << r.process.err;
    }
    return r;
}

const nlohmann::json* find_scenario(const nlohmann::json& list, const std::string& name) {
    for (const auto& s : list)
        if (s.value("name", "") == name) return &s;
    return nullptr;
}

std::uint64_t field(const nlohmann::json& s, const char* key) {
    return s.at(key).get<std::uint64_t>();
}

void every_scenario_is_in_the_json(const demo_run& r) {
    ASSERT_EQ(r.process.exit_code, 0) << r.process.err;
    const auto& list = r.json.at("scenarios");
    for (const char* name : {"short", "keepalive", "pool", "proxy", "workers", "close-server-first",
                             "close-client-first", "close-auto-reset"}) {
        const auto* s = find_scenario(list, name);
        ASSERT_NE(s, nullptr) << name << "\n" << r.json.dump(2);
        for (const char* key :
             {"rps", "p99_ms", "connects", "time_wait_client", "time_wait_server", "errors"})
            EXPECT_TRUE(s->contains(key)) << name << " lacks " << key;
        EXPECT_GT(s->at("rps").get<double>(), 0) << name;
        EXPECT_EQ(s->at("time_wait_measured"), true) << name;
    }
}

void short_connections_leave_time_wait_on_the_client(const demo_run& r) {
    const auto* s = find_scenario(r.json.at("scenarios"), "short");
    ASSERT_NE(s, nullptr);
    EXPECT_GT(field(*s, "time_wait_client"), 100u) << s->dump(2);
    EXPECT_EQ(field(*s, "time_wait_server"), 0u) << s->dump(2);
    EXPECT_EQ(field(*s, "errors"), 0u) << s->dump(2);
}

// The pool and the proxy keep their connections: no errors and no TIME_WAIT on the client
// (for the proxy that includes its own hop to the backend, which stays open through the run).
void pool_and_proxy_leave_no_time_wait_and_no_errors(const demo_run& r) {
    for (const char* name : {"pool", "proxy", "keepalive", "workers"}) {
        const auto* s = find_scenario(r.json.at("scenarios"), name);
        ASSERT_NE(s, nullptr) << name;
        EXPECT_EQ(field(*s, "errors"), 0u) << s->dump(2);
        EXPECT_EQ(field(*s, "time_wait_client"), 0u) << s->dump(2);
        EXPECT_EQ(field(*s, "time_wait_server"), 0u) << s->dump(2);
    }
    const auto* pool = find_scenario(r.json.at("scenarios"), "pool");
    EXPECT_LE(field(*pool, "connects"), 20u);  // one per virtual user at most
}

void who_closes_decides_where_time_wait_lands(const demo_run& r) {
    const auto& list = r.json.at("scenarios");
    const auto* server_first = find_scenario(list, "close-server-first");
    const auto* client_first = find_scenario(list, "close-client-first");
    const auto* reset = find_scenario(list, "close-auto-reset");
    ASSERT_TRUE(server_first && client_first && reset);
    EXPECT_GT(field(*server_first, "time_wait_server"), 100u) << server_first->dump(2);
    EXPECT_EQ(field(*server_first, "time_wait_client"), 0u) << server_first->dump(2);
    EXPECT_GT(field(*client_first, "time_wait_client"), 100u) << client_first->dump(2);
    EXPECT_EQ(field(*client_first, "time_wait_server"), 0u) << client_first->dump(2);
    EXPECT_EQ(field(*reset, "time_wait_client"), 0u) << reset->dump(2);
    EXPECT_EQ(field(*reset, "time_wait_server"), 0u) << reset->dump(2);
    for (const auto* s : {server_first, client_first, reset})
        EXPECT_EQ(field(*s, "errors"), 0u) << s->dump(2);
}

// Each scenario's TIME_WAIT over time: from 0 at the start, in increasing time, to the final
// figures; the short connections' climbs above 0 while they run.
void time_wait_series_per_scenario(const demo_run& r) {
    std::vector<const nlohmann::json*> all;
    for (const auto& s : r.json.at("scenarios")) all.push_back(&s);
    for (const auto& s : r.json.at("exhaustion").at("scenarios")) all.push_back(&s);
    for (const auto* s : all) {
        const auto name = s->at("name").get<std::string>();
        ASSERT_TRUE(s->contains("time_wait_series")) << name;
        const auto& series = s->at("time_wait_series");
        ASSERT_GE(series.size(), 2u) << name << "\n" << series.dump();
        EXPECT_EQ(field(series.front(), "at_ms"), 0u) << name;
        EXPECT_EQ(field(series.front(), "client"), 0u) << name;
        EXPECT_EQ(field(series.front(), "server"), 0u) << name;
        for (std::size_t i = 1; i < series.size(); ++i) {
            EXPECT_GT(field(series[i], "at_ms"), field(series[i - 1], "at_ms")) << name << "\n"
                                                                                << series.dump();
        }
        EXPECT_LE(series.size(), 45u) << name;  // bounded: about 40 samples at most
        EXPECT_EQ(field(series.back(), "client"), field(*s, "time_wait_client")) << name;
        EXPECT_EQ(field(series.back(), "server"), field(*s, "time_wait_server")) << name;
    }
    const auto* short_lived = find_scenario(r.json.at("scenarios"), "short");
    ASSERT_NE(short_lived, nullptr);
    const auto& series = short_lived->at("time_wait_series");
    // Sampled while the load ran (every 250 ms of the 1 s run), not only at its ends.
    EXPECT_GE(series.size(), 4u) << series.dump();
    std::uint64_t highest_while_running = 0;
    for (std::size_t i = 0; i + 1 < series.size(); ++i)
        highest_while_running = std::max(highest_while_running, field(series[i], "client"));
    EXPECT_GT(highest_while_running, 0u) << series.dump();
}

void port_exhaustion_in_a_private_namespace(const demo_run& r) {
    const auto& ex = r.json.at("exhaustion");
    if (::geteuid() != 0 || ex.at("ran") == false) {
        EXPECT_EQ(ex.at("ran"), false);
        // Not root: says so. Root without CAP_SYS_ADMIN (a container): unshare() is refused.
        const auto why = ex.at("skipped_reason").get<std::string>();
        EXPECT_TRUE(why.find("root") != std::string::npos ||
                    why.find("not permitted") != std::string::npos)
            << why;
        return;  // not root: the demo skips the part and says why, which is what is checked
    }
    ASSERT_EQ(ex.at("ran"), true) << ex.dump(2);
    const auto& list = ex.at("scenarios");
    const auto* short_lived = find_scenario(list, "exhaustion-short");
    const auto* pool = find_scenario(list, "exhaustion-pool");
    const auto* proxy = find_scenario(list, "exhaustion-proxy");
    ASSERT_TRUE(short_lived && pool && proxy) << ex.dump(2);
    EXPECT_GT(field(*short_lived, "ports_exhausted"), 0u) << short_lived->dump(2);
    EXPECT_GE(field(*short_lived, "time_wait_client"), 900u) << short_lived->dump(2);
    EXPECT_LE(field(*short_lived, "connects"), 1000u) << short_lived->dump(2);
    for (const auto* s : {pool, proxy}) {
        EXPECT_EQ(field(*s, "errors"), 0u) << s->dump(2);
        EXPECT_EQ(field(*s, "time_wait_client"), 0u) << s->dump(2);
        EXPECT_GT(field(*s, "requests"), 1000u) << s->dump(2);  // more than the port range
    }
}

void a_line_per_scenario_on_stderr(const demo_run& r) {
    std::istringstream lines(r.process.err);
    std::size_t scenario_lines = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("[") && line.find("req/s") != std::string::npos) ++scenario_lines;
    }
    const std::size_t expected = r.json.at("exhaustion").at("ran") == true ? 11 : 8;
    EXPECT_EQ(scenario_lines, expected) << r.process.err;
}

// One run of the whole demo (about 12 s with --seconds 1), checked part by part; one TEST,
// since CTest runs each TEST in a process of its own.
// Sockets the kernel closed without a TIME_WAIT, because this host's table
// (tcp_max_tw_buckets) was full.
std::int64_t time_wait_overflows() {
    const auto counters = core::read_tcp_counters();
    if (!counters) return 0;
    const auto it = counters->find("TcpExt.TCPTimeWaitOverflow");
    return it == counters->end() ? 0 : it->second;
}

TEST(DemoCli, ShortenedRunEndToEnd) {
    const auto overflows_before = time_wait_overflows();
    const auto r = run_demo();
    ASSERT_EQ(r.process.exit_code, 0) << r.process.err;
    // Other loads on a shared host can fill the TIME_WAIT table; the demo's sockets then close
    // without one, and its counts say nothing about where a close put its TIME_WAIT.
    if (const auto skipped = time_wait_overflows() - overflows_before; skipped > 0) {
        GTEST_SKIP() << "the host's TIME_WAIT table was full during the run (TcpExt "
                        "TCPTimeWaitOverflow grew by "
                     << skipped << "): other loads on this host; nothing to judge";
    }
    ASSERT_TRUE(r.json.is_object()) << r.process.out;
    for (const auto& check :
         {every_scenario_is_in_the_json, short_connections_leave_time_wait_on_the_client,
          pool_and_proxy_leave_no_time_wait_and_no_errors, who_closes_decides_where_time_wait_lands,
          time_wait_series_per_scenario, port_exhaustion_in_a_private_namespace,
          a_line_per_scenario_on_stderr}) {
        check(r);
        if (HasFatalFailure()) return;
    }
}

TEST(DemoCli, HtmlReportHasTheChartsAndTable) {
    const std::string path = "/tmp/waitless-demo-" + std::to_string(::getpid()) + ".html";
    const auto run = run_shell(waitless_binary() +
                               " demo --seconds 0.2 -q --no-exhaustion --no-doctor --html " + path);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(run.err.empty()) << run.err;  // --quiet
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    ::unlink(path.c_str());
    const std::string page = text.str();
    EXPECT_TRUE(page.starts_with("<!DOCTYPE html>"));
    EXPECT_NE(page.find("<svg"), std::string::npos);
    // TIME_WAIT over time comes first among the charts.
    EXPECT_LT(page.find("aria-label=\"TIME_WAIT over time\""),
              page.find("aria-label=\"requests/s\""));
    EXPECT_NE(page.find("<polyline"), std::string::npos);
    EXPECT_NE(page.find("<table>"), std::string::npos);
    EXPECT_NE(page.find("close-auto-reset"), std::string::npos);
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_EQ(page.find("src="), std::string::npos);  // no external assets
}

// Debian's Chromium, headless, as the machine's notes say to start it (no network chatter).
std::string chromium(const std::string& profile, const std::string& what) {
    return "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic "
           "--no-first-run --disable-background-networking --disable-component-update "
           "--disable-sync --hide-scrollbars --window-size=1200,1600 --user-data-dir=" +
           profile + " " + what;
}

std::size_t file_size(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    return in ? static_cast<std::size_t>(in.tellg()) : 0;
}

// The report opened in a real browser: the charts are in the rendered DOM and the page is not
// blank (its screenshot compresses to far more than an empty page's).
TEST(DemoCli, HtmlReportRendersInHeadlessChromium) {
    if (run_shell("command -v chromium").exit_code != 0) GTEST_SKIP() << "needs chromium";
    const std::string base = "/tmp/waitless-demo-chromium-" + std::to_string(::getpid());
    const std::string page = base + ".html", blank = base + "-blank.html";
    const auto run = run_shell(waitless_binary() +
                               " demo --seconds 0.2 -q --no-exhaustion --no-doctor --html " + page);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    { std::ofstream(blank) << "<!DOCTYPE html><html><body></body></html>"; }
    const auto dom = run_shell(chromium(base + "-profile", "--dump-dom file://" + page));
    ASSERT_EQ(dom.exit_code, 0) << dom.err;
    std::size_t charts = 0;
    for (auto at = dom.out.find("<svg"); at != std::string::npos;
         at = dom.out.find("<svg", at + 1)) {
        ++charts;
    }
    EXPECT_GE(charts, 4u) << "SVG charts in the rendered page";
    EXPECT_NE(dom.out.find("<rect"), std::string::npos) << "bars in the charts";
    // TIME_WAIT over time: a line per side in each scenario's panel, client and server.
    EXPECT_NE(dom.out.find("aria-label=\"TIME_WAIT over time\""), std::string::npos);
    std::size_t lines = 0;
    for (auto at = dom.out.find("<polyline"); at != std::string::npos;
         at = dom.out.find("<polyline", at + 1)) {
        ++lines;
    }
    EXPECT_EQ(lines, 2u * 8) << "two lines per loopback scenario";
    EXPECT_NE(dom.out.find("close-auto-reset"), std::string::npos);
    const auto shot =
        run_shell(chromium(base + "-profile", "--screenshot=" + base + ".png file://" + page));
    ASSERT_EQ(shot.exit_code, 0) << shot.err;
    const auto empty = run_shell(
        chromium(base + "-profile", "--screenshot=" + base + "-blank.png file://" + blank));
    ASSERT_EQ(empty.exit_code, 0) << empty.err;
    const auto drawn = file_size(base + ".png"), nothing = file_size(base + "-blank.png");
    EXPECT_GT(nothing, 0u);
    EXPECT_GT(drawn, 4 * nothing) << "the report's screenshot looks as empty as a blank page";
    run_shell("rm -rf " + base + "*");
}

TEST(DemoCli, BadFlagsAreOneLineAndExitThree) {
    expect_one_line_error("demo --seconds 0", "--seconds");
    expect_one_line_error("demo --seconds x", "--seconds");
    expect_one_line_error("demo -c 0", "-c");
    expect_one_line_error("demo --bogus", "--bogus");
    expect_one_line_error("demo --seconds 0.2 --html /nonexistent-dir/report.html", "--html");
}

}  // namespace
}  // namespace waitless::test
