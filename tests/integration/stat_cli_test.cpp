// `waitless` as a user runs it: help, version, and one clear line for every bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli.hpp"
#include "support/process.hpp"

namespace waitless::test {
namespace {

TEST(StatCli, HelpAndVersion) {
    auto version = run_shell(waitless_binary() + " --version");
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_TRUE(version.out.starts_with("waitless ")) << version.out;
    auto help = run_shell(waitless_binary() + " --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("stat"), std::string::npos);
    EXPECT_NE(help.out.find("doctor"), std::string::npos);
    auto stat_help = run_shell(waitless_binary() + " stat --help");
    EXPECT_EQ(stat_help.exit_code, 0);
    for (const char* flag :
         {"--json", "--prometheus", "--top", "--watch", "--dst", "--port", "--netns"}) {
        EXPECT_NE(stat_help.out.find(flag), std::string::npos) << flag;
    }
}

TEST(StatCli, RealHostGivesValidJson) {
    auto run = run_shell(waitless_binary() + " stat --json");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    auto j = nlohmann::json::parse(run.out);
    EXPECT_TRUE(j["states"].contains("established"));
    EXPECT_TRUE(j["time_wait"]["destinations"].is_array());
}

TEST(StatCli, BadInputIsOneLineAndExitThree) {
    expect_one_line_error("stat --dst 1.2.3", "1.2.3");
    expect_one_line_error("stat --dst 10.0.0.1:99999", "10.0.0.1:99999");
    expect_one_line_error("stat --dst '[::1'", "[::1");
    expect_one_line_error("stat --port 0", "port");
    expect_one_line_error("stat --port http", "http");
    expect_one_line_error("stat --top 0", "--top");
    expect_one_line_error("stat --top -3", "--top");
    expect_one_line_error("stat --watch abc", "--watch");
    expect_one_line_error("stat --json --prometheus", "--prometheus");
    expect_one_line_error("stat --no-such-flag", "--no-such-flag");
    expect_one_line_error("stat --netns no-such-namespace-xyz", "no-such-namespace-xyz");
    expect_one_line_error("stat --netns ../etc", "../etc");
    expect_one_line_error("no-such-command", "no-such-command");
    expect_one_line_error("", "subcommand");
}

}  // namespace
}  // namespace waitless::test
