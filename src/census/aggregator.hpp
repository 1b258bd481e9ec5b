// Folds socket records into per-destination and per-listener counts while a dump streams:
// memory grows with destinations and listeners, never with sockets.
#pragma once

#include <unordered_map>
#include <vector>

#include "waitless/census/census.hpp"

namespace waitless::census::detail {

class aggregator {
  public:
    aggregator(kernel_settings settings, const options& opts);

    // Listeners first: they decide which sockets are server-side.
    void add_listener(const socket_record& record);
    void add(const socket_record& record);
    snapshot finish() &&;

  private:
    struct destination_key {
        core::ip_address local_ip;
        core::ip_address remote_ip;
        std::uint16_t remote_port = 0;
        friend bool operator==(const destination_key&, const destination_key&) = default;
    };
    struct destination_key_hash {
        std::size_t operator()(const destination_key& key) const noexcept;
    };
    struct destination_counts {
        std::uint32_t time_wait = 0;
        std::uint32_t active = 0;
        std::uint32_t created_in_window = 0;
        std::uint32_t expiring_in_window = 0;
    };

    bool passes_filter(const socket_record& record) const;
    // The listener a socket was accepted on, if its local address and port are a listener's.
    listener* listener_for(const socket_record& record);

    kernel_settings settings_;
    options options_;
    std::uint32_t window_ms_;
    snapshot snapshot_;
    std::vector<listener> listeners_;   // few: a linear scan beats hashing
    std::vector<bool> listening_port_;  // indexed by port: a quick "no listener here"
    std::unordered_map<destination_key, destination_counts, destination_key_hash> destinations_;
};

// The derived figures of one destination (closes, growth, time to exhaustion).
destination derive(const core::ip_address& local_ip, const core::ip_address& remote_ip,
                   std::uint16_t remote_port, std::uint32_t time_wait, std::uint32_t active,
                   std::uint32_t created_in_window, std::uint32_t expiring_in_window,
                   const kernel_settings& settings, double window_s);

}  // namespace waitless::census::detail
