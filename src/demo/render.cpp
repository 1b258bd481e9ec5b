// The demo's results as a table with lessons for people, and as JSON for programs.
#include <fmt/format.h>

#include <string>

#include "waitless/demo/demo.hpp"

namespace waitless::demo {
namespace {

// 12345 -> "12,345"
std::string grouped(std::uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string time_wait_cell(const scenario_result& s, std::uint64_t n) {
    return s.time_wait_measured ? grouped(n) : "?";
}

std::string connect_cell(const scenario_result& s) {
    return s.connect_p99_ms > 0 ? fmt::format("{:.3f}", s.connect_p99_ms) : "-";
}

void table(std::string& out, const std::vector<scenario_result>& rows) {
    out += fmt::format("{:<20} {:>10} {:>9} {:>12} {:>9} {:>11} {:>11} {:>7}\n", "scenario",
                       "requests/s", "p99 ms", "connect p99", "connects", "TW client", "TW server",
                       "errors");
    for (const auto& s : rows) {
        out +=
            fmt::format("{:<20} {:>10} {:>9.3f} {:>12} {:>9} {:>11} {:>11} {:>7}\n", s.name,
                        grouped(static_cast<std::uint64_t>(s.rps + 0.5)), s.p99_ms, connect_cell(s),
                        grouped(s.connects), time_wait_cell(s, s.time_wait_client),
                        time_wait_cell(s, s.time_wait_server), grouped(s.errors));
    }
}

void lessons(std::string& out, const std::vector<scenario_result>& rows) {
    for (const auto& s : rows) out += fmt::format("  {}: {}\n", s.name, s.lesson);
}

nlohmann::ordered_json scenario_json(const scenario_result& s) {
    nlohmann::ordered_json j;
    j["name"] = s.name;
    j["rps"] = s.rps;
    j["p99_ms"] = s.p99_ms;
    j["connects"] = s.connects;
    j["time_wait_client"] = s.time_wait_client;
    j["time_wait_server"] = s.time_wait_server;
    j["errors"] = s.errors;
    j["ports_exhausted"] = s.ports_exhausted;
    j["requests"] = s.requests;
    j["seconds"] = s.seconds;
    j["connect_p50_ms"] = s.connect_p50_ms;
    j["connect_p99_ms"] = s.connect_p99_ms;
    j["connect_max_ms"] = s.connect_max_ms;
    j["time_wait_measured"] = s.time_wait_measured;
    j["title"] = s.title;
    j["lesson"] = s.lesson;
    auto& series = j["time_wait_series"] = nlohmann::ordered_json::array();
    for (const auto& at : s.time_wait_series) {
        series.push_back({{"at_ms", at.at_ms}, {"client", at.client}, {"server", at.server}});
    }
    return j;
}

}  // namespace

std::string render_text(const outcome& o) {
    std::string out;
    out += fmt::format(
        "waitless demo: {} s per scenario, {} connections, on loopback, fresh ports for each "
        "scenario.\nTW client / TW server: TIME_WAIT the scenario created and left, on each side "
        "(the census before and after); connect p99 in ms.\n\n",
        static_cast<double>(o.setup.per_scenario.count()) / 1000.0, o.setup.connections);
    table(out, o.scenarios);
    out += "\nlessons:\n";
    lessons(out, o.scenarios);

    const auto& ex = o.exhaustion;
    out += fmt::format(
        "\nephemeral port exhaustion (private network namespace, ip_local_port_range {}, "
        "tcp_tw_reuse=0):\n",
        ex.port_range);
    if (!ex.ran) {
        out += fmt::format("  skipped: {}\n", ex.skipped_reason);
    } else {
        table(out, ex.scenarios);
        lessons(out, ex.scenarios);
    }

    out += "\ndoctor (this host, audited before the scenarios ran):\n";
    if (!o.doctor_ran) {
        out += fmt::format("  not run{}\n", o.doctor_error.empty() ? std::string(" (--no-doctor)")
                                                                   : ": " + o.doctor_error);
    } else if (o.findings.empty()) {
        out += "  no findings\n";
    } else {
        for (const auto& f : o.findings) {
            out += fmt::format("  {:<8} {} ({})\n", doctor::severity_name(f.level), f.title, f.id);
        }
        out += "  (waitless doctor explains each: why and how to fix)\n";
    }
    return out;
}

nlohmann::ordered_json render_json(const outcome& o) {
    nlohmann::ordered_json j;
    j["seconds_per_scenario"] = static_cast<double>(o.setup.per_scenario.count()) / 1000.0;
    j["connections"] = o.setup.connections;
    j["scenarios"] = nlohmann::ordered_json::array();
    for (const auto& s : o.scenarios) j["scenarios"].push_back(scenario_json(s));
    auto& ex = j["exhaustion"];
    ex["ran"] = o.exhaustion.ran;
    if (!o.exhaustion.ran) ex["skipped_reason"] = o.exhaustion.skipped_reason;
    ex["port_range"] = o.exhaustion.port_range;
    ex["tcp_tw_reuse"] = 0;
    ex["scenarios"] = nlohmann::ordered_json::array();
    for (const auto& s : o.exhaustion.scenarios) ex["scenarios"].push_back(scenario_json(s));
    auto& d = j["doctor"];
    d["ran"] = o.doctor_ran;
    if (!o.doctor_error.empty()) d["error"] = o.doctor_error;
    d["findings"] = nlohmann::ordered_json::array();
    for (const auto& f : o.findings) {
        d["findings"].push_back(
            {{"id", f.id}, {"severity", doctor::severity_name(f.level)}, {"title", f.title}});
    }
    return j;
}

}  // namespace waitless::demo
