// Reading sysctl configuration: the line parser and the directory walk.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "facts.hpp"

namespace waitless::doctor::test {
namespace {

namespace fs = std::filesystem;

TEST(DoctorSysctlFiles, ParsesAssignmentsWithLineNumbers) {
    const auto lines = parse_sysctl_file("/etc/sysctl.conf",
                                         "# comment\n"
                                         "; also a comment\n"
                                         "\n"
                                         "net.ipv4.tcp_tw_recycle = 1\n"
                                         "  -net/ipv4/tcp_fin_timeout=10  \r\n"
                                         "no equals sign here\n"
                                         "= no key\n"
                                         "kernel.pid_max=4194304");
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].path, "/etc/sysctl.conf");
    EXPECT_EQ(lines[0].line_no, 4u);
    EXPECT_EQ(lines[0].key, "net.ipv4.tcp_tw_recycle");
    EXPECT_EQ(lines[0].value, "1");
    EXPECT_EQ(lines[0].text, "net.ipv4.tcp_tw_recycle = 1");
    EXPECT_EQ(lines[1].line_no, 5u);
    EXPECT_EQ(lines[1].key, "net.ipv4.tcp_fin_timeout");
    EXPECT_EQ(lines[1].value, "10");
    EXPECT_EQ(lines[1].text, "-net/ipv4/tcp_fin_timeout=10");
    EXPECT_EQ(lines[2].line_no, 8u);
    EXPECT_EQ(lines[2].key, "kernel.pid_max");
}

class DoctorSysctlDirs : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() /
                ("waitless-doctor-test-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(root_ / "etc/sysctl.d");
        fs::create_directories(root_ / "usr/lib/sysctl.d");
    }
    void TearDown() override { fs::remove_all(root_); }
    void write(const fs::path& relative, const std::string& text) {
        std::ofstream(root_ / relative) << text;
    }
    std::string at(const char* relative) const { return (root_ / relative).string(); }

    fs::path root_;
};

TEST_F(DoctorSysctlDirs, ReadsConfFilesInOrderWithMaskingAndNoDuplicates) {
    write("etc/sysctl.conf", "net.ipv4.tcp_tw_recycle = 1\n");
    write("etc/sysctl.d/10-a.conf", "# c\nnet.ipv4.tcp_tw_reuse = 2\n");
    write("etc/sysctl.d/README", "net.ipv4.tcp_tw_recycle = 1\n");         // not *.conf
    write("usr/lib/sysctl.d/10-a.conf", "net.ipv4.tcp_tw_recycle = 1\n");  // masked by /etc
    write("usr/lib/sysctl.d/50-b.conf", "\n\nnet.ipv4.tcp_tw_recycle=0\n");
    fs::create_symlink(root_ / "etc/sysctl.conf", root_ / "etc/sysctl.d/99-sysctl.conf");

    const auto lines = read_sysctl_files(
        {at("etc/sysctl.d"), at("run/sysctl.d"), at("usr/lib/sysctl.d"), at("etc/sysctl.conf")});
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].path, at("etc/sysctl.d/10-a.conf"));
    EXPECT_EQ(lines[0].line_no, 2u);
    // The symlink to sysctl.conf is read once, where it is first reached.
    EXPECT_EQ(lines[1].path, at("etc/sysctl.d/99-sysctl.conf"));
    EXPECT_EQ(lines[1].key, "net.ipv4.tcp_tw_recycle");
    EXPECT_EQ(lines[2].path, at("usr/lib/sysctl.d/50-b.conf"));
    EXPECT_EQ(lines[2].line_no, 3u);
}

TEST_F(DoctorSysctlDirs, MissingLocationsAreFine) {
    EXPECT_TRUE(read_sysctl_files({at("nope"), at("nope.conf")}).empty());
}

TEST(DoctorSysctlFilesDefaults, CoverEveryPlaceSysctlReads) {
    const auto locations = default_sysctl_locations();
    for (const char* place : {"/etc/sysctl.conf", "/etc/sysctl.d", "/run/sysctl.d",
                              "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"}) {
        EXPECT_NE(std::ranges::find(locations, place), locations.end()) << place;
    }
}

}  // namespace
}  // namespace waitless::doctor::test
