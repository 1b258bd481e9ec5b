// The demo's report as one self-contained HTML page: inline SVG bar charts (requests/s, TIME_WAIT
// per side, p99), the table and the lessons; no scripts, no external assets.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <string>

#include "waitless/demo/demo.hpp"

namespace waitless::demo {
namespace {

std::string escaped(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

struct series {
    std::string label;
    std::string colour;
    std::function<double(const scenario_result&)> value;
};

// Horizontal bars, one group per scenario, one bar per series, scaled to the largest value.
std::string bar_chart(const std::string& title, const std::vector<scenario_result>& rows,
                      const std::vector<series>& columns) {
    constexpr int label_width = 170, bar_width = 460, bar_height = 14, gap = 8, top = 30;
    double largest = 0;
    for (const auto& s : rows)
        for (const auto& c : columns) largest = std::max(largest, c.value(s));
    const int group = static_cast<int>(columns.size()) * bar_height + gap;
    const int height = top + static_cast<int>(rows.size()) * group + 24;
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{}\" height=\"{}\" "
        "role=\"img\" aria-label=\"{}\">\n<text x=\"0\" y=\"16\" class=\"title\">{}</text>\n",
        label_width + bar_width + 120, height, escaped(title), escaped(title));
    int y = top;
    for (const auto& s : rows) {
        svg += fmt::format("<text x=\"0\" y=\"{}\" class=\"label\">{}</text>\n", y + bar_height - 3,
                           escaped(s.name));
        for (const auto& c : columns) {
            const double v = c.value(s);
            const int w = largest > 0 ? static_cast<int>(v / largest * bar_width + 0.5) : 0;
            svg += fmt::format(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: "
                "{:.0f}</title></rect><text x=\"{}\" y=\"{}\" class=\"value\">{:.0f}</text>\n",
                label_width, y, std::max(w, 1), bar_height - 2, c.colour, escaped(c.label), v,
                label_width + std::max(w, 1) + 4, y + bar_height - 4, v);
            y += bar_height;
        }
        y += gap;
    }
    int x = label_width;
    for (const auto& c : columns) {
        svg += fmt::format(
            "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" "
            "y=\"{}\" class=\"label\">{}</text>\n",
            x, height - 14, c.colour, x + 14, height - 5, escaped(c.label));
        x += 170;
    }
    return svg + "</svg>\n";
}

std::string table(const std::vector<scenario_result>& rows) {
    std::string t =
        "<table><tr><th>scenario</th><th>requests/s</th><th>p99 ms</th><th>connect p99 "
        "ms</th><th>connects</th><th>TIME_WAIT client</th><th>TIME_WAIT server</th>"
        "<th>errors</th><th>lesson</th></tr>\n";
    for (const auto& s : rows) {
        t += fmt::format(
            "<tr><td>{}</td><td>{:.0f}</td><td>{:.3f}</td><td>{:.3f}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td class=\"lesson\">{}</td></tr>\n",
            escaped(s.name), s.rps, s.p99_ms, s.connect_p99_ms, s.connects, s.time_wait_client,
            s.time_wait_server, s.errors, escaped(s.lesson));
    }
    return t + "</table>\n";
}

std::string section(const std::string& heading, const std::vector<scenario_result>& rows) {
    std::string out = "<h2>" + escaped(heading) + "</h2>\n";
    out += bar_chart("requests/s", rows,
                     {{"requests/s", "#3b7dd8", [](const auto& s) { return s.rps; }}});
    out += bar_chart("TIME_WAIT created", rows,
                     {{"client side", "#d8553b",
                       [](const auto& s) { return static_cast<double>(s.time_wait_client); }},
                      {"server side", "#e0a030",
                       [](const auto& s) { return static_cast<double>(s.time_wait_server); }}});
    out += bar_chart("p99 latency (µs)", rows,
                     {{"p99 µs", "#5a9e4b", [](const auto& s) { return s.p99_ms * 1000; }}});
    return out + table(rows);
}

}  // namespace

std::string render_html(const outcome& o) {
    std::string page =
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>waitless "
        "demo</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "svg.chart{display:block;margin:1em 0}svg text{font-size:12px}svg text.title{font-"
        "weight:bold;font-size:14px}table{border-collapse:collapse;font-size:13px}td,th{border:"
        "1px solid #ccc;padding:3px 6px;text-align:right}td.lesson,td:first-child{text-align:"
        "left}</style></head><body>\n<h1>waitless demo</h1>\n";
    page += fmt::format(
        "<p>{} s per scenario, {} connections, on loopback. TIME_WAIT counts what each scenario "
        "created, on the client side and on the server side.</p>\n",
        static_cast<double>(o.setup.per_scenario.count()) / 1000.0, o.setup.connections);
    page += section("Scenarios", o.scenarios);
    const auto& ex = o.exhaustion;
    const std::string heading =
        "Ephemeral port exhaustion (ip_local_port_range " + ex.port_range + ", tcp_tw_reuse=0)";
    if (ex.ran) {
        page += section(heading, ex.scenarios);
    } else {
        page +=
            "<h2>" + escaped(heading) + "</h2><p>skipped: " + escaped(ex.skipped_reason) + "</p>\n";
    }
    page += "<h2>Doctor (this host, before the scenarios ran)</h2>\n<ul>\n";
    if (!o.doctor_ran) page += "<li>not run " + escaped(o.doctor_error) + "</li>\n";
    for (const auto& f : o.findings) {
        page += fmt::format("<li><b>{}</b> {} ({})</li>\n", doctor::severity_name(f.level),
                            escaped(f.title), escaped(f.id));
    }
    return page + "</ul>\n</body></html>\n";
}

}  // namespace waitless::demo
