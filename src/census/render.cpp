#include "waitless/census/render.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>

namespace waitless::census {
namespace {

std::string seconds_label(std::uint32_t seconds) { return std::to_string(seconds) + "s"; }

std::string endpoint(const core::ip_address& ip, std::uint16_t port) {
    return ip.family == AF_INET6 ? fmt::format("[{}]:{}", ip.to_string(), port)
                                 : fmt::format("{}:{}", ip.to_string(), port);
}

// Prometheus label values escape backslash, double quote and newline.
std::string label_value(std::string_view text) {
    std::string escaped;
    for (char c : text) {
        if (c == '\\' || c == '"') escaped.push_back('\\');
        escaped.push_back(c == '\n' ? 'n' : c);
    }
    return escaped;
}

}  // namespace

nlohmann::ordered_json to_json(const snapshot& s, std::size_t top) {
    nlohmann::ordered_json states = nlohmann::ordered_json::object();
    for (std::size_t i = 1; i < tcp_state_count; ++i) {
        const auto state = static_cast<tcp_state>(i);
        if (state == tcp_state::new_syn_recv) continue;  // counted as syn_recv
        states[std::string(state_name(state))] = s.states[i];
    }
    nlohmann::ordered_json expiring = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < expiry_buckets_s.size(); ++i) {
        expiring[seconds_label(expiry_buckets_s[i])] = s.expiring_within[i];
    }
    nlohmann::ordered_json destinations = nlohmann::ordered_json::array();
    for (const auto& d : s.destinations) {
        if (destinations.size() >= top) break;
        destinations.push_back({
            {"local_ip", d.local_ip.to_string()},
            {"remote_ip", d.remote_ip.to_string()},
            {"remote_port", d.remote_port},
            {"time_wait", d.time_wait},
            {"active", d.active},
            {"usable_ports", d.usable_ports},
            {"occupancy", d.occupancy},
            {"closes_per_s", d.closes_per_s},
            {"expiries_per_s", d.expiries_per_s},
            {"reuse_applies", d.reuse_applies},
            {"seconds_to_exhaustion", d.seconds_to_exhaustion
                                          ? nlohmann::ordered_json(*d.seconds_to_exhaustion)
                                          : nlohmann::ordered_json(nullptr)},
        });
    }
    nlohmann::ordered_json listeners = nlohmann::ordered_json::array();
    for (const auto& l : s.listeners) {
        if (listeners.size() >= top) break;
        listeners.push_back({{"local_ip", l.local_ip.to_string()},
                             {"local_port", l.local_port},
                             {"time_wait", l.time_wait},
                             {"backlog", l.backlog},
                             {"accept_queue", l.accept_queue},
                             {"sockets", l.sockets}});
    }
    nlohmann::ordered_json reserved = nlohmann::ordered_json::array();
    for (const auto& r : s.settings.reserved_ports) reserved.push_back({r.first, r.last});
    return {
        {"states", states},
        {"port_range", {s.settings.port_range.first, s.settings.port_range.last}},
        {"reserved_ports", reserved},
        {"usable_ports", s.settings.usable_ports},
        {"tw_reuse", s.settings.tw_reuse},
        {"timestamps", s.settings.timestamps},
        {"time_wait",
         {{"total", s.time_wait},
          {"client_side", s.time_wait_client},
          {"server_side", s.time_wait_server},
          {"expiring_within", expiring},
          {"destinations", destinations},
          {"destinations_total", s.destinations.size()},
          {"listeners", listeners}}},
    };
}

std::string to_prometheus(const snapshot& s, std::size_t top) {
    std::string out;
    auto metric = [&](std::string_view name, std::string_view type, std::string_view help) {
        out +=
            fmt::format("# HELP waitless_{} {}\n# TYPE waitless_{} {}\n", name, help, name, type);
    };
    metric("tcp_sockets", "gauge", "TCP sockets by state.");
    for (std::size_t i = 1; i < tcp_state_count; ++i) {
        const auto state = static_cast<tcp_state>(i);
        if (state == tcp_state::new_syn_recv) continue;
        out += fmt::format("waitless_tcp_sockets{{state=\"{}\"}} {}\n", state_name(state),
                           s.states[i]);
    }
    metric("time_wait_sockets", "gauge",
           "TIME_WAIT sockets by the side that closed first (client: holds an ephemeral port).");
    out += fmt::format("waitless_time_wait_sockets{{side=\"client\"}} {}\n", s.time_wait_client);
    out += fmt::format("waitless_time_wait_sockets{{side=\"server\"}} {}\n", s.time_wait_server);
    metric("time_wait_expiring_sockets", "gauge",
           "TIME_WAIT sockets whose 60 s end within the given number of seconds.");
    for (std::size_t i = 0; i < expiry_buckets_s.size(); ++i) {
        out += fmt::format("waitless_time_wait_expiring_sockets{{within=\"{}\"}} {}\n",
                           seconds_label(expiry_buckets_s[i]), s.expiring_within[i]);
    }
    metric("usable_ephemeral_ports", "gauge",
           "Ports in ip_local_port_range less ip_local_reserved_ports.");
    out += fmt::format("waitless_usable_ephemeral_ports {}\n", s.settings.usable_ports);
    metric("tcp_tw_reuse", "gauge", "net.ipv4.tcp_tw_reuse (0 off, 1 on, 2 loopback only).");
    out += fmt::format("waitless_tcp_tw_reuse {}\n", s.settings.tw_reuse);

    const std::size_t rows = std::min(top, s.destinations.size());
    auto per_destination = [&](std::string_view name, std::string_view help, auto value) {
        metric(name, "gauge", help);
        for (std::size_t i = 0; i < rows; ++i) {
            const auto& d = s.destinations[i];
            const auto v = value(d);
            if (!v) continue;
            out += fmt::format(
                "waitless_{}{{local_ip=\"{}\",remote_ip=\"{}\",remote_port=\"{}\"}} {}\n", name,
                label_value(d.local_ip.to_string()), label_value(d.remote_ip.to_string()),
                d.remote_port, *v);
        }
    };
    using maybe = std::optional<double>;
    per_destination("destination_time_wait_sockets", "Client-side TIME_WAIT per destination.",
                    [](const destination& d) { return maybe(d.time_wait); });
    per_destination("destination_active_sockets", "Other client sockets per destination.",
                    [](const destination& d) { return maybe(d.active); });
    per_destination("destination_port_occupancy",
                    "(TIME_WAIT + active) / usable ephemeral ports, per destination.",
                    [](const destination& d) { return maybe(d.occupancy); });
    per_destination("destination_closes_per_second",
                    "Connections entering TIME_WAIT per second, from the TIME_WAIT timers.",
                    [](const destination& d) { return maybe(d.closes_per_s); });
    per_destination("destination_reuse_applies", "1 when tcp_tw_reuse applies to the destination.",
                    [](const destination& d) { return maybe(d.reuse_applies ? 1 : 0); });
    per_destination("destination_seconds_to_exhaustion",
                    "Seconds until the ephemeral ports run out at the current rate (absent: not "
                    "heading there).",
                    [](const destination& d) { return d.seconds_to_exhaustion; });
    metric("listener_time_wait_sockets", "gauge", "Server-side TIME_WAIT per listening socket.");
    for (std::size_t i = 0; i < std::min(top, s.listeners.size()); ++i) {
        const auto& l = s.listeners[i];
        out += fmt::format(
            "waitless_listener_time_wait_sockets{{local_ip=\"{}\",local_port=\"{}\"}} {}\n",
            label_value(l.local_ip.to_string()), l.local_port, l.time_wait);
    }
    return out;
}

std::string to_table(const snapshot& s, std::size_t top, bool colour) {
    const char* red = colour ? "\x1b[31m" : "";
    const char* yellow = colour ? "\x1b[33m" : "";
    const char* bold = colour ? "\x1b[1m" : "";
    const char* reset = colour ? "\x1b[0m" : "";
    std::string out;
    std::uint64_t total = 0;
    std::string by_state;
    for (std::size_t i = 1; i < tcp_state_count; ++i) {
        total += s.states[i];
        if (s.states[i] == 0) continue;
        by_state += fmt::format("{}{} {}", by_state.empty() ? "" : ", ",
                                state_name(static_cast<tcp_state>(i)), s.states[i]);
    }
    out += fmt::format("{}TCP sockets{}: {} ({})\n", bold, reset, total,
                       by_state.empty() ? "none" : by_state);
    out += fmt::format("{}TIME_WAIT{}: {} (client-side {}, server-side {}); expiring within", bold,
                       reset, s.time_wait, s.time_wait_client, s.time_wait_server);
    for (std::size_t i = 0; i < expiry_buckets_s.size(); ++i) {
        out +=
            fmt::format("{} {}s: {}", i == 0 ? "" : ",", expiry_buckets_s[i], s.expiring_within[i]);
    }
    out += fmt::format("\nPorts: range {}-{}, {} usable; tcp_tw_reuse={}, tcp_timestamps={}\n",
                       s.settings.port_range.first, s.settings.port_range.last,
                       s.settings.usable_ports, s.settings.tw_reuse, s.settings.timestamps);

    out += fmt::format("\n{}{:<46} {:>9} {:>7} {:>7} {:>9} {:>9} {:>5} {:>11}{}\n", bold,
                       "DESTINATION (local -> remote)", "TIME_WAIT", "ACTIVE", "USABLE",
                       "OCCUPANCY", "CLOSES/S", "REUSE", "EXHAUSTION", reset);
    std::size_t shown = 0;
    for (const auto& d : s.destinations) {
        if (shown++ >= top) break;
        const char* tint = d.occupancy >= 0.9 ? red : d.occupancy >= 0.5 ? yellow : "";
        const auto exhaustion = d.seconds_to_exhaustion
                                    ? fmt::format("{:.1f}s", *d.seconds_to_exhaustion)
                                    : std::string("-");
        out +=
            fmt::format("{}{:<46} {:>9} {:>7} {:>7} {:>8.1f}% {:>9.1f} {:>5} {:>11}{}\n", tint,
                        d.local_ip.to_string() + " -> " + endpoint(d.remote_ip, d.remote_port),
                        d.time_wait, d.active, d.usable_ports, d.occupancy * 100, d.closes_per_s,
                        d.reuse_applies ? "yes" : "no", exhaustion, colour && *tint ? reset : "");
    }
    if (s.destinations.empty()) out += "(no client-side connections)\n";
    if (s.destinations.size() > top) {
        out += fmt::format("... {} more destinations (--top N)\n", s.destinations.size() - top);
    }
    out += fmt::format("\n{}{:<46} {:>9} {:>7} {:>12}{}\n", bold, "LISTENER", "TIME_WAIT",
                       "BACKLOG", "ACCEPT QUEUE", reset);
    shown = 0;
    for (const auto& l : s.listeners) {
        if (shown++ >= top) break;
        out += fmt::format("{:<46} {:>9} {:>7} {:>12}\n", endpoint(l.local_ip, l.local_port),
                           l.time_wait, l.backlog, l.accept_queue);
    }
    if (s.listeners.empty()) out += "(no listeners)\n";
    if (s.listeners.size() > top) {
        out += fmt::format("... {} more listeners (--top N)\n", s.listeners.size() - top);
    }
    return out;
}

}  // namespace waitless::census
