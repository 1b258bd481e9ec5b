// `waitless doctor` against real kernels: bad settings and TIME_WAIT overflow made in a private
// network namespace, a healthy fresh namespace, and bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/netns.hpp"
#include "support/process.hpp"
#include "support/tcp_churn.hpp"

namespace waitless::test {
namespace {

struct doctor_run {
    process_result process;
    nlohmann::json json;
};

doctor_run run_doctor(const std::string& arguments) {
    doctor_run run{run_shell(waitless_binary() + " doctor " + arguments), {}};
    run.json = nlohmann::json::parse(run.process.out, nullptr, false);
    return run;
}

const nlohmann::json* finding(const nlohmann::json& report, std::string_view id) {
    for (const auto& f : report.at("findings")) {
        if (f.at("id") == id) return &f;
    }
    return nullptr;
}

std::set<std::string> ids(const nlohmann::json& report) {
    std::set<std::string> out;
    for (const auto& f : report.at("findings")) out.insert(f.at("id").get<std::string>());
    return out;
}

// The findings the bad-settings test provokes; a healthy namespace must show none of them.
const std::set<std::string> bad_setting_ids = {
    "tw_reuse_off",       "timestamps_off",  "port_range_small", "port_range_parity",
    "tw_buckets_lowered", "tw_buckets_full", "tw_overflow"};

TEST(DoctorIntegration, ReportsBadSettingsAndTimeWaitOverflowInANamespace) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.tcp_tw_reuse", "0"));
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.tcp_timestamps", "0"));
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.ip_local_port_range", "40000 40199"));
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.tcp_max_tw_buckets", "100"));
    // Three rounds of 150 client-closed connections, each to a new listening port, so that no
    // round needs more than the 200 ports at once; the table keeps 100 and skips the rest.
    std::size_t closed = 0;
    ns->run([&] {
        for (int round = 0; round < 3; ++round) {
            const auto churned = churn(150, closer::client);
            EXPECT_EQ(churned.error, "") << "round " << round;
            closed += churned.completed;
        }
    });
    ASSERT_EQ(closed, 450u);

    const auto run = run_doctor("--netns " + ns->name() + " --json --sample 0.2");
    ASSERT_FALSE(run.json.is_discarded()) << run.process.out << run.process.err;
    EXPECT_TRUE(run.process.exit_code == 1 || run.process.exit_code == 2)
        << run.process.exit_code << ": " << run.process.err;
    EXPECT_EQ(run.process.err, "");

    const auto found = ids(run.json);
    for (const auto& id : {"tw_reuse_off", "timestamps_off", "port_range_small",
                           "tw_buckets_lowered", "tw_buckets_full", "tw_overflow"}) {
        EXPECT_TRUE(found.contains(id)) << id << " missing in " << run.process.out;
    }

    const auto* reuse = finding(run.json, "tw_reuse_off");
    ASSERT_NE(reuse, nullptr);
    EXPECT_EQ(reuse->at("severity"), "warning");
    EXPECT_EQ(reuse->at("evidence").at("net.ipv4.tcp_tw_reuse"), 0);

    const auto* timestamps = finding(run.json, "timestamps_off");
    ASSERT_NE(timestamps, nullptr);
    EXPECT_EQ(timestamps->at("evidence").at("net.ipv4.tcp_timestamps"), 0);

    const auto* range = finding(run.json, "port_range_small");
    ASSERT_NE(range, nullptr);
    EXPECT_EQ(range->at("evidence").at("net.ipv4.ip_local_port_range"), "40000 40199");
    EXPECT_EQ(range->at("evidence").at("usable_ports"), 200);

    const auto* lowered = finding(run.json, "tw_buckets_lowered");
    ASSERT_NE(lowered, nullptr);
    EXPECT_EQ(lowered->at("evidence").at("net.ipv4.tcp_max_tw_buckets"), 100);

    const auto* full = finding(run.json, "tw_buckets_full");
    ASSERT_NE(full, nullptr);
    EXPECT_GE(full->at("evidence").at("time_wait").get<int>(), 90);

    const auto* overflow = finding(run.json, "tw_overflow");
    ASSERT_NE(overflow, nullptr);
    EXPECT_NE(overflow->at("title").get<std::string>().find("TCPTimeWaitOverflow"),
              std::string::npos);
    // 450 closes into a table of 100: at least 300 were skipped.
    EXPECT_GE(overflow->at("evidence").at("TcpExt.TCPTimeWaitOverflow").get<int>(), 300);

    // The human form of the same audit: blocks with severity tags, no colours into a pipe.
    const auto text =
        run_shell(waitless_binary() + " doctor --netns " + ns->name() + " --sample 0");
    EXPECT_EQ(text.exit_code, run.process.exit_code);
    EXPECT_NE(text.out.find("[WARNING] tcp_tw_reuse is 0"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("TCPTimeWaitOverflow"), std::string::npos);
    EXPECT_EQ(text.out.find("\x1b["), std::string::npos);

    // The sysctl.d snippet puts the settings back and never proposes the wrong fixes.
    const auto snippet = run_shell(waitless_binary() + " doctor --netns " + ns->name() +
                                   " --sample 0 --emit-sysctl");
    EXPECT_EQ(snippet.exit_code, run.process.exit_code);
    for (const char* line : {"\nnet.ipv4.tcp_tw_reuse = 2\n", "\nnet.ipv4.tcp_timestamps = 1\n",
                             "\nnet.ipv4.ip_local_port_range = 32768 60999\n"}) {
        EXPECT_NE(snippet.out.find(line), std::string::npos) << line << " in " << snippet.out;
    }
    EXPECT_NE(snippet.out.find("\nnet.ipv4.tcp_max_tw_buckets = "), std::string::npos);
    EXPECT_EQ(snippet.out.find("tcp_fin_timeout"), std::string::npos);
    EXPECT_EQ(snippet.out.find("tcp_tw_recycle = 1"), std::string::npos);
}

TEST(DoctorIntegration, HealthyFreshNamespaceHasNoWarnings) {
    WAITLESS_NETNS_OR_SKIP(ns);
    const auto run = run_doctor("--netns " + ns->name() + " --json --sample 0.2");
    ASSERT_FALSE(run.json.is_discarded()) << run.process.out << run.process.err;
    EXPECT_EQ(run.process.exit_code, 0) << run.process.out;
    for (const auto& id : ids(run.json)) {
        EXPECT_FALSE(bad_setting_ids.contains(id)) << id;
    }
    for (const auto& f : run.json.at("findings")) {
        EXPECT_EQ(f.at("severity"), "info") << f.dump();
    }
    const auto snippet = run_shell(waitless_binary() + " doctor --netns " + ns->name() +
                                   " --sample 0 --emit-sysctl");
    EXPECT_EQ(snippet.exit_code, 0);
    EXPECT_NE(snippet.out.find("# Nothing to change"), std::string::npos) << snippet.out;
}

// One line on stderr naming the problem, exit 3, and no crash.
void expect_clean_refusal(const process_result& r, std::string_view mentions) {
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(std::ranges::count(r.err, '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("terminate"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("Aborted"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(DoctorIntegration, BadInputIsOneLineAndExitThree) {
    const struct {
        const char* arguments;
        const char* mentions;
    } cases[] = {
        {"--bogus", "--bogus"},    {"--sample -1", "-1"},
        {"--sample abc", "abc"},   {"--sample 1e999", "1e999"},
        {"--sample nan", "nan"},   {"--sample 3600", "3600"},
        {"--sample", "--sample"},  {"--json --emit-sysctl", "--emit-sysctl"},
        {"--netns ''", "--netns"}, {"--netns ../etc", "../etc"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.arguments);
        expect_clean_refusal(run_shell(waitless_binary() + " doctor " + c.arguments), c.mentions);
    }
}

TEST(DoctorIntegration, MissingNamespaceIsOneLineAndExitThree) {
    const std::string name = "waitless-no-such-ns-" + std::to_string(::getpid());
    expect_clean_refusal(run_shell(waitless_binary() + " doctor --sample 0 --netns " + name), name);
}

TEST(DoctorIntegration, NoPermissionIsOneLineAndExitThree) {
    WAITLESS_NETNS_OR_SKIP(ns);
    if (run_shell("command -v setpriv").exit_code != 0) GTEST_SKIP() << "needs setpriv";
    // An unprivileged user may not enter another network namespace.
    const auto r = run_shell("setpriv --reuid=65534 --regid=65534 --clear-groups " +
                             waitless_binary() + " doctor --sample 0 --netns " + ns->name());
    expect_clean_refusal(r, "not permitted");
}

}  // namespace
}  // namespace waitless::test
