// The individual checks audit() runs; each appends its findings to `out`.
#pragma once

#include <string>
#include <vector>

#include "waitless/doctor/doctor.hpp"

namespace waitless::doctor::detail {

using findings = std::vector<finding>;

// checks_settings.cpp: tcp_tw_reuse, tcp_timestamps, tcp_fin_timeout, tcp_tw_recycle.
void check_tw_reuse(const host_facts& facts, findings& out);
void check_timestamps(const host_facts& facts, findings& out);
void check_fin_timeout(const host_facts& facts, findings& out);
void check_tw_recycle(const host_facts& facts, findings& out);

// checks_ports.cpp: the ephemeral port budget and who uses it.
void check_port_range_size(const host_facts& facts, findings& out);
void check_port_range_parity(const host_facts& facts, findings& out);
void check_listeners_in_range(const host_facts& facts, findings& out);
void check_reserved_ports(const host_facts& facts, findings& out);
void check_destination_occupancy(const host_facts& facts, findings& out);

// checks_time_wait.cpp: tcp_max_tw_buckets and TCPTimeWaitOverflow.
void check_tw_buckets_lowered(const host_facts& facts, findings& out);
void check_tw_buckets_usage(const host_facts& facts, findings& out);
void check_tw_overflow(const host_facts& facts, findings& out);

// checks_counters.cpp: rates over the sample, listen queues.
void check_counter_rates(const host_facts& facts, findings& out);
void check_time_wait_steady_state(const host_facts& facts, findings& out);
void check_connection_churn(const host_facts& facts, findings& out);
void check_resets(const host_facts& facts, findings& out);
void check_listen_overflows(const host_facts& facts, findings& out);
void check_listener_queues(const host_facts& facts, findings& out);
void check_somaxconn(const host_facts& facts, findings& out);

// Shared helpers (audit.cpp).
// TIME_WAIT now: /proc/net/sockstat when read, else the census count.
std::optional<std::uint64_t> time_wait_count(const host_facts& facts);
std::string port_range_text(const core::port_interval& range);              // "32768 60999"
std::string port_list_text(const std::vector<core::port_interval>& ports);  // "8080,9000-9010"
std::string endpoint_text(const core::ip_address& ip, std::uint16_t port);  // "[::1]:80"
double round_to(double value, int decimals);
// The pieces of advice every TIME_WAIT finding shares, so they are worded once.
extern const char* const root_fix_text;
extern const char* const tw_reuse_caveat_text;

}  // namespace waitless::doctor::detail
