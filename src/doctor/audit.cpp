// audit(): runs every check over gathered facts; the helpers the checks share.
#include <algorithm>
#include <cmath>

#include "doctor/checks.hpp"

namespace waitless::doctor {

std::string_view severity_name(severity level) {
    switch (level) {
        case severity::info:
            return "info";
        case severity::warning:
            return "warning";
        case severity::critical:
            return "critical";
    }
    return "info";
}

std::int64_t counter_sample::total(std::string_view key) const {
    const auto it = after.find(key);
    return it == after.end() ? 0 : it->second;
}

std::int64_t counter_sample::delta(std::string_view key) const {
    const auto now = after.find(key);
    const auto then = before.find(key);
    if (now == after.end() || then == before.end()) return 0;
    // Counters wrap or reset only with the namespace; never report a negative rate.
    return std::max<std::int64_t>(0, now->second - then->second);
}

std::optional<double> counter_sample::rate(std::string_view key) const {
    if (!(interval_s > 0)) return std::nullopt;
    return static_cast<double>(delta(key)) / interval_s;
}

std::vector<finding> audit(const host_facts& facts) {
    using namespace detail;
    findings out;
    for (auto* check : {check_tw_reuse, check_timestamps, check_fin_timeout, check_tw_recycle,
                        check_port_range_size, check_port_range_parity, check_listeners_in_range,
                        check_reserved_ports, check_destination_occupancy, check_tw_buckets_lowered,
                        check_tw_buckets_usage, check_tw_overflow, check_counter_rates,
                        check_time_wait_steady_state, check_connection_churn, check_resets,
                        check_listen_overflows, check_listener_queues, check_somaxconn}) {
        check(facts, out);
    }
    if (!facts.census) {
        out.push_back({.id = "census_unavailable",
                       .level = severity::info,
                       .title = "The socket census could not be taken; per-destination and "
                                "listener checks were skipped",
                       .evidence = {{"error", facts.census_error}},
                       .why = "Occupancy per destination and listen backlogs come from the "
                              "kernel's socket dump (netlink sock_diag).",
                       .fix = "Run again with the permissions to read the namespace's sockets.",
                       .sysctl = {}});
    }
    std::ranges::stable_sort(out, std::greater<>{}, &finding::level);
    return out;
}

severity worst(const std::vector<finding>& findings) {
    severity level = severity::info;
    for (const auto& f : findings) level = std::max(level, f.level);
    return level;
}

int exit_code(const std::vector<finding>& findings) {
    switch (worst(findings)) {
        case severity::info:
            return 0;
        case severity::warning:
            return 1;
        case severity::critical:
            return 2;
    }
    return 0;
}

namespace detail {

const char* const root_fix_text =
    "The root fix is fewer closes: reuse connections (HTTP keep-alive, connection pools) so "
    "each one carries many requests, and where a protocol allows, let the server side close "
    "first, since server-side TIME_WAIT uses no ephemeral ports.";

const char* const tw_reuse_caveat_text =
    "net.ipv4.tcp_tw_reuse = 1 lets outgoing connections take over TIME_WAIT sockets towards "
    "every destination; it is a mitigation for client hosts whose connections cannot be reused, "
    "not a first fix (the kernel documentation says it should not be changed without advice of "
    "experts), it needs tcp_timestamps = 1 and it never helps a server.";

std::optional<std::uint64_t> time_wait_count(const host_facts& facts) {
    if (facts.sockstat_time_wait) return facts.sockstat_time_wait;
    if (facts.census) return facts.census->time_wait;
    return std::nullopt;
}

std::string port_range_text(const core::port_interval& range) {
    return std::to_string(range.first) + " " + std::to_string(range.last);
}

std::string port_list_text(const std::vector<core::port_interval>& ports) {
    std::string text;
    for (const auto& interval : ports) {
        if (!text.empty()) text += ',';
        text += std::to_string(interval.first);
        if (interval.last != interval.first) {
            // Appended piece by piece: "-" + std::to_string() trips g++ 12's -Wrestrict.
            text += '-';
            text += std::to_string(interval.last);
        }
    }
    return text;
}

std::string endpoint_text(const core::ip_address& ip, std::uint16_t port) {
    if (ip.family == 0) return "*:" + std::to_string(port);
    const auto address = ip.to_string();
    if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
    return address + ":" + std::to_string(port);
}

double round_to(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

}  // namespace detail
}  // namespace waitless::doctor
