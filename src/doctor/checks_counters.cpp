// Checks over the counters sampled twice (closes, opens, resets per second) and of the listen
// queues (ListenOverflows, accept queues, somaxconn).
#include <algorithm>

#include "doctor/checks.hpp"

namespace waitless::doctor::detail {
namespace {

constexpr double time_wait_s = 60.0;
constexpr double queue_nearly_full = 0.9;
constexpr std::int64_t default_somaxconn = 4096;  // since 5.4
constexpr std::size_t max_listed = 10;

// Sockets entering TIME_WAIT per second: TW and TWKilled both count entries.
std::optional<double> time_wait_entry_rate(const counter_sample& counters) {
    auto tw = counters.rate("TcpExt.TW");
    auto killed = counters.rate("TcpExt.TWKilled");
    if (!tw || !killed) return std::nullopt;
    return *tw + *killed;
}

bool listen_overflows_rising(const counter_sample& counters) {
    return counters.delta("TcpExt.ListenOverflows") > 0 || counters.delta("TcpExt.ListenDrops") > 0;
}

}  // namespace

void check_counter_rates(const host_facts& facts, findings& out) {
    const auto& c = facts.counters;
    const auto entering = time_wait_entry_rate(c);
    if (!entering) return;
    auto per_s = [&](std::string_view key) { return round_to(c.rate(key).value_or(0), 1); };
    nlohmann::ordered_json evidence = {
        {"sample_s", c.interval_s},
        {"time_wait_entered_per_s", round_to(*entering, 1)},
        {"TcpExt.TWRecycled_per_s", per_s("TcpExt.TWRecycled")},
        {"Tcp.ActiveOpens_per_s", per_s("Tcp.ActiveOpens")},
        {"Tcp.PassiveOpens_per_s", per_s("Tcp.PassiveOpens")},
        {"Tcp.EstabResets_per_s", per_s("Tcp.EstabResets")},
        {"TcpExt.TCPAbortOnData_per_s", per_s("TcpExt.TCPAbortOnData")}};
    out.push_back(
        {.id = "counter_rates",
         .level = severity::info,
         .title = "Over " + nlohmann::ordered_json(round_to(c.interval_s, 2)).dump() +
                  " s: " + nlohmann::ordered_json(round_to(*entering, 1)).dump() +
                  " sockets/s entered TIME_WAIT, " +
                  nlohmann::ordered_json(per_s("Tcp.ActiveOpens")).dump() +
                  " outgoing connections/s opened",
         .evidence = std::move(evidence),
         .why = "TIME_WAIT settles at about the close rate times 60 s; TWRecycled counts "
                "TIME_WAIT sockets taken over through tcp_tw_reuse; EstabResets and "
                "TCPAbortOnData count connections ended with a reset instead of a close.",
         .fix = "Nothing to change by itself; the other findings compare these rates with the "
                "limits.",
         .sysctl = {}});
}

void check_time_wait_steady_state(const host_facts& facts, findings& out) {
    const auto entering = time_wait_entry_rate(facts.counters);
    const auto limit = facts.sysctls.max_tw_buckets;
    if (!entering || *entering <= 0 || limit <= 0) return;
    const double steady = *entering * time_wait_s;
    if (steady <= static_cast<double>(limit)) return;
    out.push_back(
        {.id = "time_wait_steady_state",
         .level = severity::warning,
         .title = "At " + nlohmann::ordered_json(round_to(*entering, 1)).dump() +
                  " closes/s TIME_WAIT settles near " + std::to_string(std::llround(steady)) +
                  ", above tcp_max_tw_buckets " + std::to_string(limit),
         .evidence = {{"time_wait_entered_per_s", round_to(*entering, 1)},
                      {"steady_state_time_wait", std::llround(steady)},
                      {"net.ipv4.tcp_max_tw_buckets", limit},
                      {"sample_s", facts.counters.interval_s}},
         .why = "Each close by this side keeps a TIME_WAIT socket for 60 s, so at this rate the "
                "table fills and the kernel starts skipping TIME_WAIT (TCPTimeWaitOverflow).",
         .fix = std::string(root_fix_text) + " Do not lower tcp_max_tw_buckets to match.",
         .sysctl = {}});
}

void check_connection_churn(const host_facts& facts, findings& out) {
    const auto opens = facts.counters.rate("Tcp.ActiveOpens");
    const auto entering = time_wait_entry_rate(facts.counters);
    const auto usable = facts.settings.usable_ports;
    if (!opens || !entering || *entering <= 0 || usable == 0) return;
    // A minute of new outgoing connections that each close first needs that many ports of
    // one destination's budget.
    const double ports_per_minute = *opens * time_wait_s;
    if (ports_per_minute < usable / 2.0) return;
    out.push_back(
        {.id = "connection_churn",
         .level = severity::warning,
         .title = nlohmann::ordered_json(round_to(*opens, 1)).dump() +
                  " new outgoing connections/s: a minute of them is " +
                  std::to_string(std::llround(100 * ports_per_minute / usable)) +
                  "% of the usable ports",
         .evidence = {{"Tcp.ActiveOpens_per_s", round_to(*opens, 1)},
                      {"time_wait_entered_per_s", round_to(*entering, 1)},
                      {"usable_ports", usable},
                      {"sample_s", facts.counters.interval_s}},
         .why = "If these connections go to few destinations and this side closes first, each "
                "holds its ephemeral port for 60 s after the close; at this rate one destination "
                "can run out of ports.",
         .fix = root_fix_text,
         .sysctl = {}});
}

void check_resets(const host_facts& facts, findings& out) {
    const auto resets = facts.counters.rate("Tcp.EstabResets");
    const auto aborts = facts.counters.rate("TcpExt.TCPAbortOnData");
    if (!resets || !aborts || (*resets <= 0 && *aborts <= 0)) return;
    out.push_back(
        {.id = "resets",
         .level = severity::info,
         .title = "Connections ending with a reset: " +
                  nlohmann::ordered_json(round_to(*resets, 1)).dump() + " EstabResets/s, " +
                  nlohmann::ordered_json(round_to(*aborts, 1)).dump() + " TCPAbortOnData/s",
         .evidence = {{"Tcp.EstabResets_per_s", round_to(*resets, 1)},
                      {"TcpExt.TCPAbortOnData_per_s", round_to(*aborts, 1)},
                      {"Tcp.EstabResets", facts.counters.total("Tcp.EstabResets")},
                      {"TcpExt.TCPAbortOnData", facts.counters.total("TcpExt.TCPAbortOnData")}},
         .why = "A reset close (SO_LINGER 0) leaves no TIME_WAIT, but it discards unsent data and "
                "the peer sees ECONNRESET. Some of these may also be resets received from peers.",
         .fix = "If resets are used to avoid TIME_WAIT, reuse connections instead. " +
                std::string(root_fix_text),
         .sysctl = {}});
}

void check_listen_overflows(const host_facts& facts, findings& out) {
    const auto& c = facts.counters;
    const auto overflows = c.total("TcpExt.ListenOverflows");
    const auto drops = c.total("TcpExt.ListenDrops");
    if (overflows <= 0 && drops <= 0) return;
    const bool rising = listen_overflows_rising(c);
    nlohmann::ordered_json evidence = {{"TcpExt.ListenOverflows", overflows},
                                       {"TcpExt.ListenDrops", drops},
                                       {"net.core.somaxconn", facts.sysctls.somaxconn}};
    if (c.interval_s > 0) {
        evidence["ListenOverflows_during_sample"] = c.delta("TcpExt.ListenOverflows");
        evidence["ListenDrops_during_sample"] = c.delta("TcpExt.ListenDrops");
    }
    out.push_back(
        {.id = "listen_overflows",
         .level = rising ? severity::warning : severity::info,
         .title = "Listen queues overflowed: ListenOverflows " + std::to_string(overflows) +
                  ", ListenDrops " + std::to_string(drops) + (rising ? " (rising)" : ""),
         .evidence = std::move(evidence),
         .why = "A connection that finds the accept queue full is dropped; the client retries "
                "its SYN after a second or more.",
         .fix = "Accept faster (more acceptor threads, SO_REUSEPORT listeners), or give the "
                "listeners a bigger backlog (capped by net.core.somaxconn).",
         .sysctl = {}});
}

void check_listener_queues(const host_facts& facts, findings& out) {
    if (!facts.census) return;
    nlohmann::ordered_json listed = nlohmann::ordered_json::array();
    std::size_t full = 0;
    for (const auto& l : facts.census->listeners) {
        if (l.backlog == 0 || l.accept_queue < queue_nearly_full * l.backlog) continue;
        ++full;
        if (listed.size() < max_listed) {
            listed.push_back({{"listener", endpoint_text(l.local_ip, l.local_port)},
                              {"accept_queue", l.accept_queue},
                              {"backlog", l.backlog}});
        }
    }
    if (full == 0) return;
    const bool overflowing = listen_overflows_rising(facts.counters);
    out.push_back({.id = "accept_queue_full",
                   .level = overflowing ? severity::critical : severity::warning,
                   .title = std::to_string(full) + " listener(s) with a nearly full accept queue",
                   .evidence = {{"listeners", std::move(listed)},
                                {"net.core.somaxconn", facts.sysctls.somaxconn},
                                {"TcpExt.ListenOverflows_during_sample",
                                 facts.counters.delta("TcpExt.ListenOverflows")}},
                   .why =
                       "The application does not accept() connections as fast as they arrive; once "
                       "the queue is full new connections are dropped (ListenOverflows).",
                   .fix = "Accept faster (more acceptor threads, SO_REUSEPORT listeners); a bigger "
                          "backlog only absorbs bursts.",
                   .sysctl = {}});
}

void check_somaxconn(const host_facts& facts, findings& out) {
    const auto somaxconn = facts.sysctls.somaxconn;
    if (!facts.census || somaxconn >= default_somaxconn) return;
    nlohmann::ordered_json listed = nlohmann::ordered_json::array();
    std::size_t capped = 0;
    for (const auto& l : facts.census->listeners) {
        // The backlog of each of its sockets (SO_REUSEPORT listeners are summed).
        if (static_cast<std::int64_t>(l.backlog / std::max(l.sockets, 1u)) != somaxconn) continue;
        ++capped;
        if (listed.size() < max_listed) listed.push_back(endpoint_text(l.local_ip, l.local_port));
    }
    if (capped == 0) return;
    const bool overflowed = facts.counters.total("TcpExt.ListenOverflows") > 0;
    finding f{
        .id = "somaxconn_caps_backlog",
        .level = overflowed ? severity::warning : severity::info,
        .title = std::to_string(capped) +
                 " listener(s) have their backlog capped at "
                 "net.core.somaxconn = " +
                 std::to_string(somaxconn),
        .evidence = {{"net.core.somaxconn", somaxconn},
                     {"listeners", std::move(listed)},
                     {"TcpExt.ListenOverflows", facts.counters.total("TcpExt.ListenOverflows")}},
        .why =
            "listen() silently lowers any backlog above somaxconn; the default has been "
            "4096 since kernel 5.4, and a smaller value makes bursts overflow the "
            "accept queue.",
        .fix =
            "Set net.core.somaxconn = 4096 (the default) or more, then restart the "
            "listeners: the backlog is fixed at listen() time.",
        .sysctl = {}};
    if (overflowed)
        f.sysctl = sysctl_change{"net.core.somaxconn", std::to_string(default_somaxconn)};
    out.push_back(std::move(f));
}

}  // namespace waitless::doctor::detail
