// The three output formats: human text, JSON and the sysctl.d snippet.
#include <gtest/gtest.h>

#include "facts.hpp"

namespace waitless::doctor::test {
namespace {

std::vector<finding> sample_findings() {
    auto facts = healthy_facts();
    facts.settings.tw_reuse = 0;
    facts.settings.timestamps = 0;
    facts.sysctls.max_tw_buckets = 100;
    facts.census->destinations = {destination_to("192.0.2.1", 443, 190, 200, false)};
    facts.sysctl_files = {
        {"/etc/sysctl.conf", 7, "net.ipv4.tcp_tw_recycle", "1", "net.ipv4.tcp_tw_recycle = 1"}};
    bump(facts, "TcpExt.TCPTimeWaitOverflow", 0, 50);
    return audit(facts);
}

TEST(DoctorRender, TextHasOneBlockPerFindingGroupedBySeverity) {
    const auto findings = sample_findings();
    const auto text = render_text(findings, false);
    EXPECT_EQ(text.find("\x1b["), std::string::npos);
    EXPECT_NE(text.find("[WARNING] tcp_tw_reuse is 0"), std::string::npos);
    EXPECT_NE(text.find("    evidence: net.ipv4.tcp_tw_reuse = 0"), std::string::npos);
    EXPECT_NE(text.find("    why:      "), std::string::npos);
    EXPECT_NE(text.find("    fix:      "), std::string::npos);
    EXPECT_NE(text.find("  - local_ip=10.0.0.1, destination=192.0.2.1:443"), std::string::npos);
    const auto critical = text.find("[CRITICAL]");
    const auto warning = text.find("[WARNING]");
    const auto info = text.find("[INFO]");
    ASSERT_NE(critical, std::string::npos);
    ASSERT_NE(warning, std::string::npos);
    ASSERT_NE(info, std::string::npos);
    EXPECT_LT(critical, warning);
    EXPECT_LT(warning, info);
    for (const auto& f : findings) {
        EXPECT_NE(text.find(f.title), std::string::npos) << f.id;
    }
    // Wrapped to 100 columns.
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const auto line = text.substr(start, end - start);
        if (line.find("why:") != std::string::npos || line.rfind("              ", 0) == 0) {
            if (line.find("  - ") == std::string::npos && line.find(" = ") == std::string::npos) {
                EXPECT_LE(line.size(), 100u) << line;
            }
        }
        start = end + 1;
    }
}

TEST(DoctorRender, ColoursOnlyWhenAsked) {
    const auto text = render_text(sample_findings(), true);
    EXPECT_NE(text.find("\x1b[1;33m[WARNING]\x1b[0m"), std::string::npos);
    EXPECT_NE(text.find("\x1b[1;31m[CRITICAL]\x1b[0m"), std::string::npos);
}

TEST(DoctorRender, NoFindings) {
    const auto text = render_text({}, false);
    EXPECT_NE(text.find("0 critical, 0 warning(s), 0 info"), std::string::npos);
    EXPECT_NE(text.find("Nothing to report"), std::string::npos);
    EXPECT_EQ(render_json({}).dump(), R"({"findings":[]})");
}

TEST(DoctorRender, JsonHasTheDocumentedShape) {
    const auto findings = sample_findings();
    const auto json = render_json(findings);
    ASSERT_TRUE(json.at("findings").is_array());
    ASSERT_EQ(json.at("findings").size(), findings.size());
    for (const auto& item : json.at("findings")) {
        for (const char* key : {"id", "severity", "title", "why", "fix"}) {
            EXPECT_TRUE(item.at(key).is_string()) << key;
        }
        EXPECT_TRUE(item.at("evidence").is_object());
        const auto level = item.at("severity").get<std::string>();
        EXPECT_TRUE(level == "info" || level == "warning" || level == "critical") << level;
    }
    EXPECT_EQ(json.at("findings").at(0).at("severity"), "critical");
}

TEST(DoctorRender, SysctlSnippetHasOnlyJustifiedChanges) {
    const auto snippet = render_sysctl(sample_findings());
    EXPECT_NE(snippet.find("\nnet.ipv4.tcp_tw_reuse = 2\n"), std::string::npos);
    EXPECT_NE(snippet.find("\nnet.ipv4.tcp_timestamps = 1\n"), std::string::npos);
    EXPECT_NE(snippet.find("\nnet.ipv4.tcp_max_tw_buckets = 131072\n"), std::string::npos);
    EXPECT_NE(snippet.find("# Delete that line: net.ipv4.tcp_tw_recycle = 1"), std::string::npos);
    // tw_reuse = 2 is set for real, so the mitigation for the same key is left out.
    EXPECT_EQ(snippet.find("tcp_tw_reuse = 1"), std::string::npos);
    EXPECT_EQ(snippet.find("fin_timeout"), std::string::npos);
    EXPECT_EQ(snippet.find("Nothing to change"), std::string::npos);
    // Every line that is not a comment or blank is a key = value.
    std::size_t start = 0;
    while (start < snippet.size()) {
        const auto end = snippet.find('\n', start);
        const auto line = snippet.substr(start, end - start);
        if (!line.empty() && line[0] != '#') {
            EXPECT_NE(line.find(" = "), std::string::npos) << line;
        }
        start = end + 1;
    }
}

TEST(DoctorRender, SysctlSnippetMitigationIsCommentedOut) {
    auto facts = healthy_facts();
    facts.census->destinations = {destination_to("192.0.2.1", 443, 190, 200, false)};
    const auto snippet = render_sysctl(audit(facts));
    EXPECT_NE(snippet.find("\n# net.ipv4.tcp_tw_reuse = 1\n"), std::string::npos);
    EXPECT_EQ(snippet.find("\nnet.ipv4.tcp_tw_reuse"), std::string::npos);
    EXPECT_NE(snippet.find("advice of experts"), std::string::npos);
}

TEST(DoctorRender, SysctlSnippetSaysWhenNothingIsToChange) {
    const auto snippet = render_sysctl(audit(healthy_facts()));
    EXPECT_NE(snippet.find("# Nothing to change"), std::string::npos);
    EXPECT_EQ(snippet.find('='), std::string::npos);
}

}  // namespace
}  // namespace waitless::doctor::test
