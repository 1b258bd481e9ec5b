// Gathering the facts the checks judge: sysctls, counters (twice), the census, sysctl files.
#include <chrono>
#include <thread>

#include "waitless/census/census.hpp"
#include "waitless/core/procfs.hpp"
#include "waitless/doctor/doctor.hpp"

namespace waitless::doctor {
namespace {

template <class T>
std::unexpected<std::error_code> error_of(const result<T>& failed) {
    return std::unexpected(failed.error());
}

// The doctor reads these itself rather than through the census, so that the settings checks
// still run when the socket dump fails.
result<census::kernel_settings> read_settings() {
    census::kernel_settings settings;
    auto range = core::read_sysctl_numbers("net.ipv4.ip_local_port_range");
    if (!range) return error_of(range);
    if (range->size() != 2 || (*range)[0] < 0 || (*range)[1] > 65535 || (*range)[0] > (*range)[1]) {
        return std::unexpected(make_error_code(core::errc::malformed_input));
    }
    settings.port_range = {static_cast<std::uint16_t>((*range)[0]),
                           static_cast<std::uint16_t>((*range)[1])};
    auto reserved_text = core::read_sysctl("net.ipv4.ip_local_reserved_ports");
    if (!reserved_text) return error_of(reserved_text);
    auto reserved = core::parse_port_list(*reserved_text);
    if (!reserved) return error_of(reserved);
    settings.reserved_ports = std::move(*reserved);
    settings.usable_ports = core::usable_ports(settings.port_range, settings.reserved_ports);
    auto tw_reuse = core::read_sysctl_number("net.ipv4.tcp_tw_reuse");
    if (!tw_reuse) return error_of(tw_reuse);
    settings.tw_reuse = static_cast<int>(*tw_reuse);
    auto timestamps = core::read_sysctl_number("net.ipv4.tcp_timestamps");
    if (!timestamps) return error_of(timestamps);
    settings.timestamps = static_cast<int>(*timestamps);
    return settings;
}

std::optional<std::int64_t> optional_number(std::string_view name) {
    auto value = core::read_sysctl_number(name);
    if (!value) return std::nullopt;
    return *value;
}

result<sysctl_values> read_sysctl_values() {
    sysctl_values values;
    auto max_tw_buckets = core::read_sysctl_number("net.ipv4.tcp_max_tw_buckets");
    if (!max_tw_buckets) return error_of(max_tw_buckets);
    values.max_tw_buckets = *max_tw_buckets;
    values.somaxconn = optional_number("net.core.somaxconn").value_or(values.somaxconn);
    values.fin_timeout = optional_number("net.ipv4.tcp_fin_timeout").value_or(values.fin_timeout);
    values.ehash_entries = optional_number("net.ipv4.tcp_ehash_entries");
    values.tw_reuse_delay_ms = optional_number("net.ipv4.tcp_tw_reuse_delay");
    values.tw_recycle = optional_number("net.ipv4.tcp_tw_recycle");
    return values;
}

// The "tw" figure of the "TCP:" line of /proc/net/sockstat.
std::optional<std::uint64_t> read_sockstat_time_wait() {
    auto text = core::read_file(core::proc_net_path("sockstat"));
    if (!text) return std::nullopt;
    const auto line = text->find("TCP:");
    if (line == std::string::npos) return std::nullopt;
    const auto tw = text->find(" tw ", line);
    const auto line_end = text->find('\n', line);
    if (tw == std::string::npos || tw > line_end) return std::nullopt;
    const auto digits =
        text->substr(tw + 4, text->find_first_not_of("0123456789", tw + 4) - tw - 4);
    auto numbers = core::parse_numbers(digits);
    if (!numbers || numbers->size() != 1 || numbers->front() < 0) return std::nullopt;
    return static_cast<std::uint64_t>(numbers->front());
}

}  // namespace

result<host_facts> gather(const gather_options& opts) {
    host_facts facts;
    auto settings = read_settings();
    if (!settings) return error_of(settings);
    facts.settings = std::move(*settings);
    auto values = read_sysctl_values();
    if (!values) return error_of(values);
    facts.sysctls = *values;

    auto before = core::read_tcp_counters();
    if (!before) return error_of(before);
    if (opts.sample_s > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(opts.sample_s));
    }
    auto after = core::read_tcp_counters();
    if (!after) return error_of(after);
    facts.counters = {std::move(*before), std::move(*after), opts.sample_s};

    facts.sockstat_time_wait = read_sockstat_time_wait();
    if (auto snapshot = census::take_snapshot(); snapshot) {
        facts.census = std::move(*snapshot);
    } else {
        facts.census_error = snapshot.error().message();
    }
    facts.sysctl_files = read_sysctl_files(opts.sysctl_locations);
    return facts;
}

}  // namespace waitless::doctor
