// Checks of the ephemeral port budget: range size and parity, listeners and reserved ports in
// it, and destinations whose ports are mostly taken.
#include <algorithm>
#include <set>

#include "doctor/checks.hpp"

namespace waitless::doctor::detail {
namespace {

constexpr std::uint32_t few_ports = 10'000;      // warning below
constexpr std::uint32_t very_few_ports = 1'000;  // critical below
constexpr core::port_interval default_range{32768, 60999};
constexpr double occupancy_warning = 0.5;
constexpr double occupancy_critical = 0.9;
constexpr std::size_t max_listed = 10;

std::uint32_t range_size(const core::port_interval& range) {
    return range.last < range.first ? 0 : range.last - range.first + 1u;
}

nlohmann::ordered_json range_evidence(const host_facts& facts) {
    return {{"net.ipv4.ip_local_port_range", port_range_text(facts.settings.port_range)},
            {"net.ipv4.ip_local_reserved_ports", port_list_text(facts.settings.reserved_ports)},
            {"usable_ports", facts.settings.usable_ports}};
}

}  // namespace

void check_port_range_size(const host_facts& facts, findings& out) {
    const auto usable = facts.settings.usable_ports;
    if (usable >= few_ports) return;
    const bool range_small = range_size(facts.settings.port_range) < few_ports;
    finding f{.id = "port_range_small",
              .level = usable < very_few_ports ? severity::critical : severity::warning,
              .title = "Only " + std::to_string(usable) + " usable ephemeral ports",
              .evidence = range_evidence(facts),
              .why =
                  "Towards one destination (source IP, destination IP and port) only as many "
                  "connections can exist at once, TIME_WAIT included, as there are usable "
                  "ports; past that connect() fails with EADDRNOTAVAIL, and it slows down "
                  "well before. Each client-side close holds its port for 60 s.",
              .fix = {},
              .sysctl = {}};
    if (range_small) {
        f.fix = "Widen net.ipv4.ip_local_port_range, e.g. to the default " +
                port_range_text(default_range) +
                " (28,232 ports; keep listening services out of it or reserve their ports). ";
        f.sysctl = sysctl_change{"net.ipv4.ip_local_port_range", port_range_text(default_range)};
    } else {
        f.fix =
            "Most of the range is taken by net.ipv4.ip_local_reserved_ports; reserve only "
            "the ports of services that listen inside the range. ";
    }
    f.fix += root_fix_text;
    out.push_back(std::move(f));
}

void check_port_range_parity(const host_facts& facts, findings& out) {
    const auto range = facts.settings.port_range;
    if (range.first % 2 != range.last % 2) return;
    finding f{.id = "port_range_parity",
              .level = severity::warning,
              .title = "ip_local_port_range " + port_range_text(range) +
                       ": both ends have the same parity",
              .evidence = range_evidence(facts),
              .why =
                  "connect() prefers ports of the parity of the range's start and bind() "
                  "the other parity; with both ends even (or odd) the two halves are uneven "
                  "and connect() searches longer before it finds a free port.",
              .fix = {},
              .sysctl = {}};
    // The range-size finding already proposes a whole new range, with correct parity.
    const bool size_finding_applies =
        facts.settings.usable_ports < few_ports && range_size(range) < few_ports;
    const core::port_interval fixed{
        range.first,
        static_cast<std::uint16_t>(range.last > range.first ? range.last - 1 : range.last)};
    f.fix =
        "Move one end by one port so they differ in parity, e.g. net.ipv4.ip_local_port_range "
        "= " +
        port_range_text(fixed) + ".";
    if (!size_finding_applies && fixed.last != range.last) {
        f.sysctl = sysctl_change{"net.ipv4.ip_local_port_range", port_range_text(fixed)};
    }
    out.push_back(std::move(f));
}

void check_listeners_in_range(const host_facts& facts, findings& out) {
    if (!facts.census) return;
    const auto range = facts.settings.port_range;
    std::set<std::uint16_t> ports;
    nlohmann::ordered_json listed = nlohmann::ordered_json::array();
    for (const auto& l : facts.census->listeners) {
        if (l.local_port < range.first || l.local_port > range.last) continue;
        if (core::contains(facts.settings.reserved_ports, l.local_port)) continue;
        if (ports.insert(l.local_port).second && listed.size() < max_listed) {
            listed.push_back(endpoint_text(l.local_ip, l.local_port));
        }
    }
    if (ports.empty()) return;
    auto reserved = facts.settings.reserved_ports;
    for (auto port : ports) reserved.push_back({port, port});
    // Sorts and merges the intervals.
    auto merged = core::parse_port_list(port_list_text(reserved)).value_or(reserved);
    auto evidence = range_evidence(facts);
    evidence["listeners_in_range"] = std::move(listed);
    evidence["ports_in_range"] = ports.size();
    out.push_back(
        {.id = "listeners_in_port_range",
         .level = severity::warning,
         .title = std::to_string(ports.size()) +
                  " listening port(s) inside the ephemeral range and not reserved",
         .evidence = std::move(evidence),
         .why = "connect() may hand these ports to outgoing connections: a service that restarts "
                "can then fail to bind with EADDRINUSE while an outgoing connection or its "
                "TIME_WAIT holds the port.",
         .fix = "Add them to net.ipv4.ip_local_reserved_ports (connect() skips reserved ports, "
                "bind() still takes them), or move the services below the range.",
         .sysctl = sysctl_change{"net.ipv4.ip_local_reserved_ports", port_list_text(merged)}});
}

void check_reserved_ports(const host_facts& facts, findings& out) {
    const auto& reserved = facts.settings.reserved_ports;
    if (reserved.empty()) return;
    const auto range = facts.settings.port_range;
    const std::uint32_t inside = range_size(range) - facts.settings.usable_ports;
    std::vector<core::port_interval> outside;
    for (const auto& r : reserved) {
        if (r.last < range.first || r.first > range.last) outside.push_back(r);
    }
    auto evidence = range_evidence(facts);
    evidence["reserved_inside_range"] = inside;
    if (!outside.empty()) evidence["reserved_outside_range"] = port_list_text(outside);
    out.push_back(
        {.id = "reserved_ports",
         .level = severity::info,
         .title = std::to_string(inside) + " ephemeral port(s) reserved; " +
                  std::to_string(facts.settings.usable_ports) + " usable",
         .evidence = std::move(evidence),
         .why = "Reserved ports are skipped by connect(), so they shrink the port budget of "
                "every destination. Reserved ports outside the range have no effect on it.",
         .fix = "Reserve only the ports of services that listen inside the ephemeral range.",
         .sysctl = {}});
}

void check_destination_occupancy(const host_facts& facts, findings& out) {
    if (!facts.census) return;
    std::vector<const census::destination*> busy;
    for (const auto& d : facts.census->destinations) {
        if (d.occupancy > occupancy_warning) busy.push_back(&d);
    }
    if (busy.empty()) return;
    std::ranges::sort(busy, std::greater<>{}, &census::destination::occupancy);
    const auto* top = busy.front();
    bool any_uncovered = false;
    nlohmann::ordered_json listed = nlohmann::ordered_json::array();
    for (const auto* d : busy) {
        any_uncovered = any_uncovered || !d->reuse_applies;
        if (listed.size() >= max_listed) continue;
        nlohmann::ordered_json item = {{"local_ip", d->local_ip.to_string()},
                                       {"destination", endpoint_text(d->remote_ip, d->remote_port)},
                                       {"time_wait", d->time_wait},
                                       {"active", d->active},
                                       {"usable_ports", d->usable_ports},
                                       {"occupancy", round_to(d->occupancy, 3)},
                                       {"closes_per_s", round_to(d->closes_per_s, 1)},
                                       {"tw_reuse_applies", d->reuse_applies}};
        if (d->seconds_to_exhaustion) {
            item["seconds_to_exhaustion"] = round_to(*d->seconds_to_exhaustion, 1);
        }
        listed.push_back(std::move(item));
    }
    const auto percent = static_cast<int>(top->occupancy * 100);
    finding f{.id = "destination_occupancy",
              .level = top->occupancy > occupancy_critical ? severity::critical : severity::warning,
              .title = std::to_string(busy.size()) +
                       " destination(s) above 50% port occupancy (worst: " +
                       endpoint_text(top->remote_ip, top->remote_port) + " at " +
                       std::to_string(percent) + "%)",
              .evidence = {{"destinations_above_50_percent", busy.size()},
                           {"destinations", std::move(listed)},
                           {"net.ipv4.tcp_tw_reuse", facts.settings.tw_reuse}},
              .why =
                  "These destinations hold most of their usable ephemeral ports in open or "
                  "TIME_WAIT connections. connect() to them slows down as free ports get rare "
                  "and fails with EADDRNOTAVAIL when none is left; no kernel counter records those "
                  "failures.",
              .fix = std::string(root_fix_text) +
                     " To spread load over more ports, bind several source IPs with "
                     "IP_BIND_ADDRESS_NO_PORT, or widen ip_local_port_range.",
              .sysctl = {}};
    if (any_uncovered && facts.settings.tw_reuse != 1) {
        f.fix += std::string(" Only if connections cannot be reused: ") + tw_reuse_caveat_text;
        // With 0 or an unknown value, tw_reuse_off already proposes the default 2 first.
        if (facts.settings.tw_reuse == 2) {
            f.sysctl = sysctl_change{"net.ipv4.tcp_tw_reuse", "1", true};
        }
    }
    out.push_back(std::move(f));
}

}  // namespace waitless::doctor::detail
