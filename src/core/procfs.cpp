#include "waitless/core/procfs.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace waitless::core {
namespace {

std::unexpected<std::error_code> malformed() {
    return std::unexpected(make_error_code(errc::malformed_input));
}

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\n");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\n");
    return text.substr(first, last - first + 1);
}

std::vector<std::string_view> split(std::string_view text, std::string_view separators) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = text.find_first_of(separators, start);
        const auto part = text.substr(start, end == std::string_view::npos ? end : end - start);
        if (!part.empty()) parts.push_back(part);
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return parts;
}

template <class Int>
result<Int> parse_integer(std::string_view text) {
    Int value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return malformed();
    return value;
}

}  // namespace

result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(last_system_error());
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) return std::unexpected(last_system_error());
    return std::move(content).str();
}

std::string proc_net_path(std::string_view name) {
    return "/proc/thread-self/net/" + std::string(name);
}

std::string sysctl_path(std::string_view name) {
    std::string path = "/proc/sys/";
    path.reserve(path.size() + name.size());
    for (char c : name) path.push_back(c == '.' ? '/' : c);
    return path;
}

result<std::string> read_sysctl(std::string_view name) {
    auto content = read_file(sysctl_path(name));
    if (!content) return std::unexpected(content.error());
    return std::string(trim(*content));
}

result<std::vector<std::int64_t>> parse_numbers(std::string_view text) {
    std::vector<std::int64_t> numbers;
    for (auto word : split(text, " \t\n")) {
        auto value = parse_integer<std::int64_t>(word);
        if (!value) return std::unexpected(value.error());
        numbers.push_back(*value);
    }
    if (numbers.empty()) return malformed();
    return numbers;
}

result<std::vector<std::int64_t>> read_sysctl_numbers(std::string_view name) {
    auto text = read_sysctl(name);
    if (!text) return std::unexpected(text.error());
    return parse_numbers(*text);
}

result<std::int64_t> read_sysctl_number(std::string_view name) {
    auto numbers = read_sysctl_numbers(name);
    if (!numbers) return std::unexpected(numbers.error());
    if (numbers->size() != 1) return malformed();
    return numbers->front();
}

result<std::vector<port_interval>> parse_port_list(std::string_view text) {
    std::vector<port_interval> intervals;
    for (auto item : split(trim(text), ",")) {
        item = trim(item);
        const auto dash = item.find('-');
        auto first = parse_integer<std::uint32_t>(item.substr(0, dash));
        auto last = dash == std::string_view::npos
                        ? first
                        : parse_integer<std::uint32_t>(item.substr(dash + 1));
        if (!first || !last || *first > 65535 || *last > 65535 || *first > *last)
            return malformed();
        intervals.push_back(
            {static_cast<std::uint16_t>(*first), static_cast<std::uint16_t>(*last)});
    }
    std::ranges::sort(intervals, {}, &port_interval::first);
    std::vector<port_interval> merged;
    for (const auto& interval : intervals) {
        if (!merged.empty() && interval.first <= merged.back().last + 1u) {
            merged.back().last = std::max(merged.back().last, interval.last);
        } else {
            merged.push_back(interval);
        }
    }
    return merged;
}

std::uint32_t usable_ports(port_interval range, const std::vector<port_interval>& reserved) {
    if (range.last < range.first) return 0;
    std::uint32_t count = range.last - range.first + 1u;
    for (const auto& r : reserved) {
        const auto first = std::max(r.first, range.first);
        const auto last = std::min(r.last, range.last);
        if (first <= last) count -= last - first + 1u;
    }
    return count;
}

bool contains(const std::vector<port_interval>& intervals, std::uint16_t port) {
    return std::ranges::any_of(intervals,
                               [port](const auto& i) { return i.first <= port && port <= i.last; });
}

result<counter_table> parse_counter_table(std::string_view text) {
    counter_table table;
    const auto lines = split(text, "\n");
    if (lines.size() % 2 != 0) return malformed();
    for (std::size_t i = 0; i < lines.size(); i += 2) {
        const auto names = split(lines[i], " ");
        const auto values = split(lines[i + 1], " ");
        if (names.size() != values.size() || names.empty() || names[0] != values[0] ||
            names[0].back() != ':') {
            return malformed();
        }
        const auto prefix = names[0].substr(0, names[0].size() - 1);
        for (std::size_t k = 1; k < names.size(); ++k) {
            auto value = parse_integer<std::int64_t>(values[k]);
            if (!value) return malformed();
            table.insert_or_assign(std::string(prefix) + "." + std::string(names[k]), *value);
        }
    }
    return table;
}

result<counter_table> read_tcp_counters() {
    counter_table merged;
    for (const char* name : {"snmp", "netstat"}) {
        auto text = read_file(proc_net_path(name));
        if (!text) return std::unexpected(text.error());
        auto table = parse_counter_table(*text);
        if (!table) return std::unexpected(table.error());
        merged.merge(*table);
    }
    return merged;
}

}  // namespace waitless::core
