// Hand-made host facts for the doctor's unit tests: a healthy default host to spoil one value at
// a time, and lookups into the findings.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "waitless/doctor/doctor.hpp"

namespace waitless::doctor::test {

// A fresh namespace on a 6.x kernel: every setting at its default, no sockets, quiet counters.
inline host_facts healthy_facts() {
    host_facts facts;
    facts.settings = census::kernel_settings{};
    facts.sysctls.max_tw_buckets = 131072;
    facts.sysctls.ehash_entries = -262144;
    facts.sysctls.somaxconn = 4096;
    facts.sysctls.fin_timeout = 60;
    facts.sysctls.tw_reuse_delay_ms = 1000;
    facts.census = census::snapshot{};
    facts.census->settings = facts.settings;
    facts.sockstat_time_wait = 0;
    for (const char* key :
         {"TcpExt.TW", "TcpExt.TWKilled", "TcpExt.TWRecycled", "TcpExt.TCPTimeWaitOverflow",
          "TcpExt.TCPAbortOnData", "TcpExt.ListenOverflows", "TcpExt.ListenDrops",
          "Tcp.ActiveOpens", "Tcp.PassiveOpens", "Tcp.EstabResets"}) {
        facts.counters.before[key] = 0;
        facts.counters.after[key] = 0;
    }
    facts.counters.interval_s = 1.0;
    return facts;
}

// Sets the port budget consistently in both places the checks may look.
inline void set_port_range(host_facts& facts, std::uint16_t first, std::uint16_t last,
                           std::vector<core::port_interval> reserved = {}) {
    facts.settings.port_range = {first, last};
    facts.settings.reserved_ports = std::move(reserved);
    facts.settings.usable_ports =
        core::usable_ports(facts.settings.port_range, facts.settings.reserved_ports);
    if (facts.census) facts.census->settings = facts.settings;
}

// Advances a counter by `delta` during the sample, on top of `earlier` counted before it.
inline void bump(host_facts& facts, const std::string& key, std::int64_t delta,
                 std::int64_t earlier = 0) {
    facts.counters.before[key] = earlier;
    facts.counters.after[key] = earlier + delta;
}

// A copy, so that it may be taken from a temporary audit() result.
inline std::optional<finding> find_id(const std::vector<finding>& findings, std::string_view id) {
    for (const auto& f : findings) {
        if (f.id == id) return f;
    }
    return std::nullopt;
}

inline std::vector<std::string> ids(const std::vector<finding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings) out.push_back(f.id);
    return out;
}

inline census::destination destination_to(const char* remote, std::uint16_t port,
                                          std::uint32_t time_wait, std::uint32_t usable,
                                          bool reuse_applies) {
    census::destination d;
    d.local_ip = *core::ip_address::parse("10.0.0.1");
    d.remote_ip = *core::ip_address::parse(remote);
    d.remote_port = port;
    d.time_wait = time_wait;
    d.usable_ports = usable;
    d.occupancy = static_cast<double>(time_wait) / usable;
    d.reuse_applies = reuse_applies;
    return d;
}

inline census::listener listener_on(std::uint16_t port, std::uint32_t backlog = 4096,
                                    std::uint32_t accept_queue = 0) {
    census::listener l;
    l.local_ip = *core::ip_address::parse("0.0.0.0");
    l.local_port = port;
    l.backlog = backlog;
    l.accept_queue = accept_queue;
    return l;
}

}  // namespace waitless::doctor::test
