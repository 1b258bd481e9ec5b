// Reading the kernel's view through /proc: sysctls, counter tables, port lists.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "waitless/core/error.hpp"

namespace waitless::core {

// The whole content of a (small) file, such as one under /proc.
result<std::string> read_file(const std::string& path);

// "netstat" -> "/proc/thread-self/net/netstat": the calling thread's network namespace.
// (/proc/net follows the process's first thread, which a thread in setns() has left.)
std::string proc_net_path(std::string_view name);

// "net.ipv4.tcp_tw_reuse" -> "/proc/sys/net/ipv4/tcp_tw_reuse".
std::string sysctl_path(std::string_view name);
// The value of a sysctl, whitespace-trimmed. Reads the calling thread's network namespace.
result<std::string> read_sysctl(std::string_view name);
// A sysctl holding one or more integers separated by whitespace.
result<std::vector<std::int64_t>> read_sysctl_numbers(std::string_view name);
result<std::int64_t> read_sysctl_number(std::string_view name);

// Whitespace-separated signed integers; the whole text must be numbers.
result<std::vector<std::int64_t>> parse_numbers(std::string_view text);

// An inclusive port interval.
struct port_interval {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    friend bool operator==(const port_interval&, const port_interval&) = default;
};

// The ip_local_reserved_ports syntax: "" or "8080,9000-9010"; intervals sorted and merged.
result<std::vector<port_interval>> parse_port_list(std::string_view text);

// Ports in [range.first, range.last] that are not reserved.
std::uint32_t usable_ports(port_interval range, const std::vector<port_interval>& reserved);
bool contains(const std::vector<port_interval>& intervals, std::uint16_t port);

// Counter tables in the /proc/net/netstat and /proc/net/snmp format: pairs of lines,
// "Prefix: Name1 Name2" then "Prefix: v1 v2". Keys are "Prefix.Name", e.g. "TcpExt.TW".
using counter_table = std::map<std::string, std::int64_t, std::less<>>;
result<counter_table> parse_counter_table(std::string_view text);
// netstat and snmp of the calling thread's network namespace (proc_net_path), merged.
result<counter_table> read_tcp_counters();

}  // namespace waitless::core
