// Checks of the TIME_WAIT settings themselves: tcp_tw_reuse, tcp_timestamps, tcp_fin_timeout,
// and tcp_tw_recycle left in configuration files.
#include <algorithm>

#include "doctor/checks.hpp"

namespace waitless::doctor::detail {
namespace {

constexpr int default_tw_reuse = 2;  // loopback only, since 4.18
constexpr std::int64_t default_fin_timeout = 60;
constexpr std::size_t max_listed = 10;  // destinations listed in evidence

nlohmann::ordered_json reuse_evidence(const host_facts& facts) {
    nlohmann::ordered_json evidence = {{"net.ipv4.tcp_tw_reuse", facts.settings.tw_reuse},
                                       {"net.ipv4.tcp_timestamps", facts.settings.timestamps}};
    if (facts.sysctls.tw_reuse_delay_ms) {
        evidence["net.ipv4.tcp_tw_reuse_delay"] = *facts.sysctls.tw_reuse_delay_ms;
    }
    return evidence;
}

// tcp_tw_reuse = 2: which client-side destinations with TIME_WAIT it does not cover.
void check_reuse_coverage(const host_facts& facts, findings& out) {
    if (!facts.census) return;
    std::uint64_t uncovered_time_wait = 0;
    std::size_t uncovered = 0;
    nlohmann::ordered_json listed = nlohmann::ordered_json::array();
    for (const auto& d : facts.census->destinations) {
        if (d.time_wait == 0 || d.reuse_applies) continue;
        ++uncovered;
        uncovered_time_wait += d.time_wait;
        if (listed.size() < max_listed) {
            listed.push_back({{"destination", endpoint_text(d.remote_ip, d.remote_port)},
                              {"time_wait", d.time_wait},
                              {"occupancy", round_to(d.occupancy, 3)}});
        }
    }
    if (uncovered == 0) return;
    auto evidence = reuse_evidence(facts);
    evidence["destinations_not_covered"] = uncovered;
    evidence["time_wait_not_covered"] = uncovered_time_wait;
    evidence["destinations"] = std::move(listed);
    out.push_back(
        {.id = "tw_reuse_coverage",
         .level = severity::info,
         .title = "tcp_tw_reuse = 2 covers loopback only: " + std::to_string(uncovered) +
                  " destination(s) with TIME_WAIT are not covered",
         .evidence = std::move(evidence),
         .why = "With the default 2, connect() takes over TIME_WAIT sockets only for loopback "
                "connections; TIME_WAIT towards other hosts holds its ephemeral port for the "
                "full 60 s.",
         .fix = std::string(root_fix_text) +
                " Only if that is impossible on this client host: " + tw_reuse_caveat_text,
         .sysctl = {}});
}

}  // namespace

void check_tw_reuse(const host_facts& facts, findings& out) {
    const int value = facts.settings.tw_reuse;
    if (value == 0) {
        out.push_back(
            {.id = "tw_reuse_off",
             .level = severity::warning,
             .title = "tcp_tw_reuse is 0: connect() never takes over TIME_WAIT, not even on "
                      "loopback",
             .evidence = reuse_evidence(facts),
             .why = "The default (2) lets outgoing loopback connections take over a TIME_WAIT "
                    "socket of the same 4-tuple once it is older than the reuse delay, which is "
                    "safe there. With 0, local clients (sidecars, proxies, health checks) hold "
                    "each port for the full 60 s and run out of ephemeral ports sooner.",
             .fix = "Set net.ipv4.tcp_tw_reuse = 2, the default. " + std::string(root_fix_text),
             .sysctl = sysctl_change{"net.ipv4.tcp_tw_reuse", std::to_string(default_tw_reuse)}});
        return;
    }
    if (value == 1) {
        out.push_back(
            {.id = "tw_reuse_all",
             .level = severity::info,
             .title = "tcp_tw_reuse is 1: outgoing connections to every destination may take "
                      "over TIME_WAIT",
             .evidence = reuse_evidence(facts),
             .why = "This is a mitigation, not a fix; the kernel documentation says it should "
                    "not be changed without advice of experts. It works only with TCP timestamps "
                    "and never helps a server (TIME_WAIT on listening ports is not affected).",
             .fix = "Keep it only on a client host whose connections cannot be reused. " +
                    std::string(root_fix_text),
             .sysctl = {}});
        return;
    }
    if (value != default_tw_reuse) {
        out.push_back(
            {.id = "tw_reuse_unknown",
             .level = severity::warning,
             .title =
                 "tcp_tw_reuse has a value the kernel does not document: " + std::to_string(value),
             .evidence = reuse_evidence(facts),
             .why = "Documented values are 0 (off), 1 (all outgoing connections) and 2 (loopback "
                    "only, the default).",
             .fix = "Set net.ipv4.tcp_tw_reuse = 2, the default.",
             .sysctl = sysctl_change{"net.ipv4.tcp_tw_reuse", std::to_string(default_tw_reuse)}});
        return;
    }
    check_reuse_coverage(facts, out);
}

void check_timestamps(const host_facts& facts, findings& out) {
    if (facts.settings.timestamps != 0) return;
    const bool reuse_wanted = facts.settings.tw_reuse != 0;
    out.push_back(
        {.id = "timestamps_off",
         .level = reuse_wanted ? severity::critical : severity::warning,
         .title = reuse_wanted ? "tcp_timestamps is 0, so tcp_tw_reuse = " +
                                     std::to_string(facts.settings.tw_reuse) + " does nothing"
                               : "tcp_timestamps is 0",
         .evidence = reuse_evidence(facts),
         .why = "tcp_tw_reuse takes over a TIME_WAIT socket only when TCP timestamps were seen on "
                "the old connection, and PAWS (protection against wrapped sequence numbers) needs "
                "them too. Without them no TIME_WAIT socket is ever reused.",
         .fix = "Set net.ipv4.tcp_timestamps = 1, the default.",
         .sysctl = sysctl_change{"net.ipv4.tcp_timestamps", "1"}});
}

void check_fin_timeout(const host_facts& facts, findings& out) {
    std::vector<const sysctl_file_line*> lines;
    for (const auto& line : facts.sysctl_files) {
        if (line.key == "net.ipv4.tcp_fin_timeout") lines.push_back(&line);
    }
    if (facts.sysctls.fin_timeout == default_fin_timeout && lines.empty()) return;
    nlohmann::ordered_json evidence = {{"net.ipv4.tcp_fin_timeout", facts.sysctls.fin_timeout}};
    if (!lines.empty()) {
        nlohmann::ordered_json set_in = nlohmann::ordered_json::array();
        for (const auto* line : lines) {
            set_in.push_back({{"file", line->path}, {"line", line->line_no}, {"text", line->text}});
        }
        evidence["set_in"] = std::move(set_in);
    }
    out.push_back(
        {.id = "fin_timeout_not_time_wait",
         .level = severity::info,
         .title = "tcp_fin_timeout is " + std::to_string(facts.sysctls.fin_timeout) +
                  " s; it does not shorten TIME_WAIT",
         .evidence = std::move(evidence),
         .why = "tcp_fin_timeout is how long an orphaned connection waits in FIN_WAIT_2. "
                "TIME_WAIT lasts a fixed 60 s (TCP_TIMEWAIT_LEN) in mainline kernels whatever "
                "this is set to, so changing it is no TIME_WAIT fix.",
         .fix = "Nothing to change for TIME_WAIT. " + std::string(root_fix_text),
         .sysctl = {}});
}

void check_tw_recycle(const host_facts& facts, findings& out) {
    for (const auto& line : facts.sysctl_files) {
        if (line.key != "net.ipv4.tcp_tw_recycle") continue;
        out.push_back(
            {.id = "tw_recycle_configured",
             .level = severity::warning,
             .title = "tcp_tw_recycle is set in " + line.path + " line " +
                      std::to_string(line.line_no) + ", but the kernel removed it in 4.12",
             .evidence = {{"file", line.path}, {"line", line.line_no}, {"text", line.text}},
             .why = "The setting no longer exists, so `sysctl -p` and `sysctl --system` fail on "
                    "this line. It was removed because it broke clients behind NAT.",
             .fix = "Delete line " + std::to_string(line.line_no) + " of " + line.path +
                    ". Nothing replaces it. " + root_fix_text,
             .sysctl = {}});
    }
    // Only kernels before 4.12 have the file; there it drops connections from clients behind NAT.
    if (facts.sysctls.tw_recycle.value_or(0) != 0) {
        out.push_back(
            {.id = "tw_recycle_on",
             .level = severity::critical,
             .title = "tcp_tw_recycle is on",
             .evidence = {{"net.ipv4.tcp_tw_recycle", *facts.sysctls.tw_recycle}},
             .why = "It drops connections from clients behind NAT whose timestamps are not "
                    "monotonic across hosts; it was removed from the kernel in 4.12 for that.",
             .fix = "Set net.ipv4.tcp_tw_recycle = 0 and remove it from sysctl configuration. " +
                    std::string(root_fix_text),
             .sysctl = sysctl_change{"net.ipv4.tcp_tw_recycle", "0"}});
    }
}

}  // namespace waitless::doctor::detail
