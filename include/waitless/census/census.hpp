// The socket census: one pass over the kernel's TCP sockets, aggregated per destination and
// per listener, with the port budget and the figures derived from TIME_WAIT timers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "waitless/core/address.hpp"
#include "waitless/core/error.hpp"
#include "waitless/core/procfs.hpp"

namespace waitless::census {

// Kernel TCP states, numbered as in include/net/tcp_states.h.
enum class tcp_state : std::uint8_t {
    established = 1,
    syn_sent,
    syn_recv,
    fin_wait1,
    fin_wait2,
    time_wait,
    close,
    close_wait,
    last_ack,
    listen,
    closing,
    new_syn_recv,
};
inline constexpr std::size_t tcp_state_count = 13;  // index 0 unused
std::string_view state_name(tcp_state state);       // "established", "time_wait", ...

// One socket of a sock_diag dump, as the aggregator sees it.
struct socket_record {
    tcp_state state{};
    core::ip_address local_ip;
    core::ip_address remote_ip;
    std::uint16_t local_port = 0;
    std::uint16_t remote_port = 0;
    std::uint32_t expires_ms = 0;     // timer left; for TIME_WAIT, ms left of its 60 s
    std::uint32_t receive_queue = 0;  // LISTEN: current accept queue length
    std::uint32_t send_queue = 0;     // LISTEN: the backlog in force
};

// The settings of the namespace that decide the port budget and tcp_tw_reuse.
struct kernel_settings {
    core::port_interval port_range{32768, 60999};
    std::vector<core::port_interval> reserved_ports;
    std::uint32_t usable_ports = 28232;
    int tw_reuse = 2;
    int timestamps = 1;
};
// Reads them from /proc/sys of the calling thread's network namespace.
result<kernel_settings> read_kernel_settings();

// Whether connect() may take over a TIME_WAIT socket towards this destination.
bool reuse_applies(const kernel_settings& settings, const core::ip_address& local_ip,
                   const core::ip_address& remote_ip);

struct options {
    std::optional<core::address_filter> destination;  // --dst IP[:PORT] (remote side)
    std::optional<std::uint16_t> port;                // --port: local or remote port
    double rate_window_s = 10.0;  // closes_per_s counts TIME_WAIT sockets younger than this
};

inline constexpr std::uint32_t time_wait_ms = 60'000;  // TCP_TIMEWAIT_LEN
inline constexpr std::array<std::uint32_t, 5> expiry_buckets_s = {1, 5, 10, 30, 60};

struct destination {
    core::ip_address local_ip;
    core::ip_address remote_ip;
    std::uint16_t remote_port = 0;
    std::uint32_t time_wait = 0;
    std::uint32_t active = 0;
    std::uint32_t usable_ports = 0;
    double occupancy = 0;       // (time_wait + active) / usable_ports
    double closes_per_s = 0;    // TIME_WAIT created within the rate window / window
    double expiries_per_s = 0;  // TIME_WAIT expiring within the rate window / window
    bool reuse_applies = false;
    std::optional<double> seconds_to_exhaustion;  // none: not heading there, or reuse applies
};

struct listener {
    core::ip_address local_ip;
    std::uint16_t local_port = 0;
    std::uint32_t time_wait = 0;  // server-side TIME_WAIT on this port
    // Summed over the SO_REUSEPORT sockets of one address and port.
    std::uint32_t backlog = 0;       // the listen backlog in force (capped by somaxconn)
    std::uint32_t accept_queue = 0;  // connections waiting for accept()
    std::uint32_t sockets = 1;       // listening sockets on this address and port
};

struct snapshot {
    kernel_settings settings;
    std::array<std::uint64_t, tcp_state_count> states{};  // indexed by tcp_state
    std::uint64_t time_wait = 0;
    std::uint64_t time_wait_client = 0;
    std::uint64_t time_wait_server = 0;
    std::array<std::uint64_t, expiry_buckets_s.size()> expiring_within{};  // cumulative
    std::vector<destination> destinations;  // by occupancy, highest first
    std::vector<listener> listeners;        // by TIME_WAIT, highest first

    std::uint64_t count(tcp_state s) const { return states[static_cast<std::size_t>(s)]; }
};

// Reads every TCP socket (IPv4 and IPv6) of the calling thread's network namespace.
result<snapshot> take_snapshot(const options& opts = {});

}  // namespace waitless::census
