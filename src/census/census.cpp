#include "waitless/census/census.hpp"

#include <sys/socket.h>

#include "aggregator.hpp"
#include "sock_diag.hpp"

namespace waitless::census {

std::string_view state_name(tcp_state state) {
    switch (state) {
        case tcp_state::established:
            return "established";
        case tcp_state::syn_sent:
            return "syn_sent";
        case tcp_state::syn_recv:
            return "syn_recv";
        case tcp_state::fin_wait1:
            return "fin_wait1";
        case tcp_state::fin_wait2:
            return "fin_wait2";
        case tcp_state::time_wait:
            return "time_wait";
        case tcp_state::close:
            return "close";
        case tcp_state::close_wait:
            return "close_wait";
        case tcp_state::last_ack:
            return "last_ack";
        case tcp_state::listen:
            return "listen";
        case tcp_state::closing:
            return "closing";
        case tcp_state::new_syn_recv:
            return "new_syn_recv";
    }
    return "unknown";
}

result<kernel_settings> read_kernel_settings() {
    kernel_settings settings;
    auto range = core::read_sysctl_numbers("net.ipv4.ip_local_port_range");
    if (!range) return std::unexpected(range.error());
    if (range->size() != 2 || (*range)[0] < 1 || (*range)[1] > 65535 || (*range)[0] > (*range)[1]) {
        return std::unexpected(make_error_code(core::errc::malformed_input));
    }
    settings.port_range = {static_cast<std::uint16_t>((*range)[0]),
                           static_cast<std::uint16_t>((*range)[1])};
    auto reserved_text = core::read_sysctl("net.ipv4.ip_local_reserved_ports");
    if (!reserved_text) return std::unexpected(reserved_text.error());
    auto reserved = core::parse_port_list(*reserved_text);
    if (!reserved) return std::unexpected(reserved.error());
    settings.reserved_ports = std::move(*reserved);
    settings.usable_ports = core::usable_ports(settings.port_range, settings.reserved_ports);
    auto reuse = core::read_sysctl_number("net.ipv4.tcp_tw_reuse");
    if (!reuse) return std::unexpected(reuse.error());
    settings.tw_reuse = static_cast<int>(*reuse);
    auto timestamps = core::read_sysctl_number("net.ipv4.tcp_timestamps");
    if (!timestamps) return std::unexpected(timestamps.error());
    settings.timestamps = static_cast<int>(*timestamps);
    return settings;
}

bool reuse_applies(const kernel_settings& settings, const core::ip_address& local_ip,
                   const core::ip_address& remote_ip) {
    // tcp_twsk_unique() needs a timestamp from the old connection; mode 2 is loopback only.
    if (settings.timestamps == 0) return false;
    if (settings.tw_reuse == 1) return true;
    return settings.tw_reuse == 2 && (local_ip.is_loopback() || remote_ip.is_loopback());
}

namespace {
constexpr std::uint32_t state_bit(tcp_state s) { return 1u << static_cast<unsigned>(s); }
constexpr std::uint32_t all_states = (1u << tcp_state_count) - 2u;  // bits 1..12
}  // namespace

result<snapshot> take_snapshot(const options& opts) {
    auto settings = read_kernel_settings();
    if (!settings) return std::unexpected(settings.error());
    auto socket = detail::sock_diag_socket::open();
    if (!socket) return std::unexpected(socket.error());
    detail::aggregator aggregate(std::move(*settings), opts);
    for (int family : {AF_INET, AF_INET6}) {
        auto dumped = socket->dump(family, state_bit(tcp_state::listen),
                                   [&](const socket_record& r) { aggregate.add_listener(r); });
        if (!dumped) return std::unexpected(dumped.error());
    }
    for (int family : {AF_INET, AF_INET6}) {
        auto dumped = socket->dump(family, all_states & ~state_bit(tcp_state::listen),
                                   [&](const socket_record& r) { aggregate.add(r); });
        if (!dumped) return std::unexpected(dumped.error());
    }
    return std::move(aggregate).finish();
}

}  // namespace waitless::census
