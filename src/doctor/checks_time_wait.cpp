// Checks of the TIME_WAIT table's limit: tcp_max_tw_buckets lowered or full, and sockets the
// kernel skipped (TCPTimeWaitOverflow).
#include <cstdlib>

#include "doctor/checks.hpp"

namespace waitless::doctor::detail {
namespace {

constexpr double buckets_nearly_full = 0.9;
constexpr const char* overflow_counter = "TcpExt.TCPTimeWaitOverflow";

// Half the established hash of the namespace, as the kernel sets it when the namespace is made.
std::optional<std::int64_t> default_max_tw_buckets(const host_facts& facts) {
    if (!facts.sysctls.ehash_entries || *facts.sysctls.ehash_entries == 0) return std::nullopt;
    return std::llabs(*facts.sysctls.ehash_entries) / 2;
}

nlohmann::ordered_json buckets_evidence(const host_facts& facts) {
    nlohmann::ordered_json evidence = {
        {"net.ipv4.tcp_max_tw_buckets", facts.sysctls.max_tw_buckets}};
    if (auto count = time_wait_count(facts)) evidence["time_wait"] = *count;
    if (facts.census) {
        evidence["time_wait_client_side"] = facts.census->time_wait_client;
        evidence["time_wait_server_side"] = facts.census->time_wait_server;
    }
    if (auto def = default_max_tw_buckets(facts)) evidence["default"] = *def;
    return evidence;
}

const char* const hides_text =
    "A TIME_WAIT socket the kernel skips gives no protection: late segments of the old "
    "connection can land in a new one on the same 4-tuple, and a lost last ACK cannot be "
    "answered, so the peer sees a reset.";

}  // namespace

void check_tw_buckets_lowered(const host_facts& facts, findings& out) {
    const auto def = default_max_tw_buckets(facts);
    const auto value = facts.sysctls.max_tw_buckets;
    if (def ? value >= *def : value > 0) return;
    finding f{
        .id = "tw_buckets_lowered",
        .level = severity::warning,
        .title = def ? "tcp_max_tw_buckets lowered to " + std::to_string(value) + " (default " +
                           std::to_string(*def) + ")"
                     : "tcp_max_tw_buckets is 0: no TIME_WAIT socket is kept",
        .evidence = buckets_evidence(facts),
        .why = std::string("Lowering it does not fix TIME_WAIT, it hides it: past the limit "
                           "the kernel skips TIME_WAIT and counts it in "
                           "TCPTimeWaitOverflow. The kernel documentation says not to "
                           "lower it artificially. ") +
               hides_text,
        .fix = std::string("Restore net.ipv4.tcp_max_tw_buckets to its default. ") + root_fix_text,
        .sysctl = {}};
    if (def) f.sysctl = sysctl_change{"net.ipv4.tcp_max_tw_buckets", std::to_string(*def)};
    out.push_back(std::move(f));
}

void check_tw_buckets_usage(const host_facts& facts, findings& out) {
    const auto count = time_wait_count(facts);
    const auto limit = facts.sysctls.max_tw_buckets;
    if (!count || limit <= 0) return;
    const double used = static_cast<double>(*count) / static_cast<double>(limit);
    if (used < buckets_nearly_full) return;
    auto evidence = buckets_evidence(facts);
    evidence["used"] = round_to(used, 3);
    out.push_back(
        {.id = "tw_buckets_full",
         .level = severity::warning,
         .title = "TIME_WAIT at " + std::to_string(*count) + " of tcp_max_tw_buckets " +
                  std::to_string(limit),
         .evidence = std::move(evidence),
         .why = std::string("New TIME_WAIT sockets past the limit are skipped (counted in "
                            "TCPTimeWaitOverflow). ") +
                hides_text,
         .fix = std::string(root_fix_text) +
                " If the limit was lowered, restore its default; do not lower it further.",
         .sysctl = {}});
}

void check_tw_overflow(const host_facts& facts, findings& out) {
    const auto total = facts.counters.total(overflow_counter);
    if (total <= 0) return;
    const auto during = facts.counters.delta(overflow_counter);
    auto evidence = buckets_evidence(facts);
    evidence[overflow_counter] = total;
    if (facts.counters.interval_s > 0) {
        evidence["during_sample"] = during;
        evidence["sample_s"] = facts.counters.interval_s;
    }
    finding f{.id = "tw_overflow",
              .level = during > 0 ? severity::critical : severity::warning,
              .title = "TCPTimeWaitOverflow is " + std::to_string(total) + ": the kernel skipped " +
                       "TIME_WAIT sockets" + (during > 0 ? " (still rising)" : ""),
              .evidence = std::move(evidence),
              .why = std::string("The TIME_WAIT table reached tcp_max_tw_buckets, so these "
                                 "closes got no TIME_WAIT. ") +
                     hides_text,
              .fix = {},
              .sysctl = {}};
    const auto def = default_max_tw_buckets(facts);
    if (def && facts.sysctls.max_tw_buckets < *def) {
        f.fix = "Restore net.ipv4.tcp_max_tw_buckets to its default " + std::to_string(*def) +
                " instead of hiding TIME_WAIT. ";
    } else {
        f.fix = "Do not lower net.ipv4.tcp_max_tw_buckets. ";
    }
    f.fix += root_fix_text;
    f.fix +=
        " Raising the limit above its default is possible when TIME_WAIT is expected, "
        "with memory to spare.";
    out.push_back(std::move(f));
}

}  // namespace waitless::doctor::detail
