// `waitless bench` against a backend that counts what it received (`waitless serve` prints its
// counters when it stops), and in a private network namespace with a 1,000-port range, where
// short connections exhaust the ephemeral ports and keep-alive does not.
#include <gtest/gtest.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "http_serve_process.hpp"
#include "support/cli.hpp"
#include "support/netns.hpp"
#include "support/process.hpp"

namespace waitless::test {
namespace {

struct served {
    std::uint64_t connections = 0;
    std::uint64_t requests = 0;
};

// From serve's last line: "... stopped (SIGTERM): N connections (R refused), M requests, ..."
std::optional<served> counters_of(const std::string& text) {
    std::smatch m;
    static const std::regex line(R"((\d+) connections \(\d+ refused\), (\d+) requests)");
    if (!std::regex_search(text, m, line)) return std::nullopt;
    return served{std::stoull(m[1]), std::stoull(m[2])};
}

nlohmann::json bench_json(const std::string& arguments, const std::string& prefix = "") {
    const auto run = run_shell(prefix + waitless_binary() + " bench --json " + arguments);
    EXPECT_EQ(run.exit_code, 0) << arguments << "\n" << run.err;
    EXPECT_TRUE(run.err.empty()) << run.err;  // not a terminal: nothing but the result
    try {
        return nlohmann::json::parse(run.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << e.what() << "\n" << run.out;
        return {};
    }
}

TEST(BenchCli, BadFlagsAreOneLineAndExitThree) {
    expect_one_line_error("bench", "url");
    expect_one_line_error("bench ftp://x/", "ftp://x/");
    expect_one_line_error("bench http://127.0.0.1:1/ --mode fast", "--mode");
    expect_one_line_error("bench http://127.0.0.1:1/ -d 5x", "5x");
    expect_one_line_error("bench http://127.0.0.1:1/ -H nocolon", "nocolon");
    expect_one_line_error("bench http://127.0.0.1:1/ -c 0", "-c");
    expect_one_line_error("bench http://127.0.0.1:1/ --rate -5", "--rate");
    expect_one_line_error("bench unix:/tmp/x.sock --mode pool", "pool");
    expect_one_line_error("bench http://no-such-host.invalid/ -n 1", "resolve");
}

// Requests and connections as bench counted them are those the server counted, per mode.
class BenchCounts : public ::testing::TestWithParam<const char*> {};

TEST_P(BenchCounts, MatchTheServersCounters) {
    const std::string mode = GetParam();
    std::string why;
    auto server = serve_process::start("--workers 1 --close-policy graceful", "", &why);
    ASSERT_TRUE(server) << why;
    const auto j = bench_json("http://" + server->address() + "/ --mode " + mode +
                              " -c 4 --workers 2 -n 400 -m POST -H 'X-Test: 1' --body hello");
    ASSERT_EQ(server->terminate(), 0);
    const auto counted = counters_of(server->error_text());
    ASSERT_TRUE(counted) << server->error_text();
    EXPECT_EQ(j["requests"], 400);
    EXPECT_EQ(j["error_total"], 0);
    EXPECT_EQ(j["non_2xx_3xx"], 0);
    EXPECT_EQ(j["requests"].get<std::uint64_t>(), counted->requests);
    EXPECT_EQ(j["connections_opened"].get<std::uint64_t>(), counted->connections);
    EXPECT_EQ(j["latency"]["count"], 400);
    if (mode == "short" || mode == "server-close") {
        EXPECT_EQ(j["connections_opened"], 400);
        EXPECT_EQ(j["connect_time"]["count"], 400);
    } else {
        EXPECT_EQ(j["connections_opened"], 4);
    }
    if (mode == "short") {
        EXPECT_GE(j["time_wait"]["client_created"].get<int>(), 390);
    }
    if (mode == "server-close") {
        EXPECT_EQ(j["time_wait"]["client_created"], 0);
    }
    if (mode == "keepalive" || mode == "pool") {
        EXPECT_EQ(j["time_wait"]["client_created"], 0);
        EXPECT_EQ(j["time_wait"]["server_created"], 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, BenchCounts,
                         ::testing::Values("short", "server-close", "keepalive", "pool"),
                         [](const auto& param_info) {
                             std::string name = param_info.param;
                             std::erase(name, '-');
                             return name;
                         });

TEST(BenchCli, DurationAndRate) {
    std::string why;
    auto server = serve_process::start("--workers 1", "", &why);
    ASSERT_TRUE(server) << why;
    const auto j =
        bench_json("http://" + server->address() + "/ -c 4 --workers 1 -d 1s --rate 200");
    ASSERT_EQ(server->terminate(), 0);
    const auto counted = counters_of(server->error_text());
    ASSERT_TRUE(counted);
    EXPECT_EQ(j["requests"].get<std::uint64_t>(), counted->requests);
    // 200 scheduled in the second, give or take the edges.
    EXPECT_GE(j["requests"].get<int>(), 190);
    EXPECT_LE(j["requests"].get<int>(), 201);
    EXPECT_EQ(j["rate"], 200.0);
}

TEST(BenchCli, UnixSocketTarget) {
    const std::string path = "/tmp/waitless-bench-" + std::to_string(::getpid()) + ".sock";
    std::string why;
    auto server = serve_process::start("--workers 1", "", &why, "unix:" + path);
    ASSERT_TRUE(server) << why;
    const auto j = bench_json("unix:" + path + " --path /health --mode short -c 2 -n 50");
    ASSERT_EQ(server->terminate(), 0);
    const auto counted = counters_of(server->error_text());
    ASSERT_TRUE(counted);
    EXPECT_EQ(j["requests"], 50);
    EXPECT_EQ(j["connections_opened"], 50);
    EXPECT_EQ(counted->requests, 50u);
    EXPECT_EQ(j["time_wait"]["measured"], false);
}

// A namespace where TIME_WAIT cannot be reused and only 1,000 ephemeral ports exist.
std::optional<temporary_netns> narrow_namespace(std::string* why) {
    auto ns = temporary_netns::create(why);
    if (!ns) return ns;
    if (!ns->set_sysctl("net.ipv4.tcp_tw_reuse", "0") ||
        !ns->set_sysctl("net.ipv4.ip_local_port_range", "40000 40999")) {
        *why = "cannot set the namespace's sysctls";
        return std::nullopt;
    }
    return ns;
}

TEST(BenchNetns, ShortConnectionsExhaustTheEphemeralPorts) {
    std::string why;
    auto ns = narrow_namespace(&why);
    if (!ns) GTEST_SKIP() << why;
    // graceful: the server answers the client's FIN with its own, so the TIME_WAIT stays on
    // the client (the default resets loopback peers, which ends TIME_WAIT at once).
    auto server =
        serve_process::start("--workers 1 --close-policy graceful", ns->exec_prefix(), &why);
    ASSERT_TRUE(server) << why;
    const auto j =
        bench_json("http://" + server->address() + "/ --mode short -c 8 -d 3s", ns->exec_prefix());
    const auto& tw = j["time_wait"];
    ASSERT_EQ(tw["measured"], true) << j.dump(2);
    EXPECT_GE(tw["client_created"].get<int>(), 900) << j.dump(2);
    EXPECT_GT(j["errors"]["ports_exhausted"].get<int>(), 0) << j.dump(2);
    EXPECT_EQ(j["errors"]["refused"], 0);
    EXPECT_EQ(j["errors"]["reset"], 0);
    EXPECT_EQ(tw["busiest_destination"]["usable_ports"], 1000);
    EXPECT_GE(tw["busiest_destination"]["occupancy"].get<double>(), 0.9);
    EXPECT_EQ(tw["busiest_destination"]["reuse_applies"], false);
}

TEST(BenchNetns, KeepaliveLeavesNoTimeWait) {
    std::string why;
    auto ns = narrow_namespace(&why);
    if (!ns) GTEST_SKIP() << why;
    auto server =
        serve_process::start("--workers 1 --close-policy graceful", ns->exec_prefix(), &why);
    ASSERT_TRUE(server) << why;
    const auto j = bench_json("http://" + server->address() + "/ --mode keepalive -c 8 -d 2s",
                              ns->exec_prefix());
    EXPECT_GT(j["requests"].get<int>(), 1000);
    EXPECT_EQ(j["error_total"], 0) << j.dump(2);
    EXPECT_EQ(j["time_wait"]["client_created"], 0) << j.dump(2);
}

}  // namespace
}  // namespace waitless::test
