// The demo's report as one self-contained HTML page: inline SVG charts (TIME_WAIT over time,
// then bars for requests/s, TIME_WAIT per side and p99), the table and the lessons; no scripts,
// no external assets.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
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

// From Okabe and Ito's colour-blind-safe palette, with the same meaning in every chart.
constexpr std::string_view client_colour = "#d55e00";  // vermillion
constexpr std::string_view server_colour = "#0072b2";  // blue

// The smallest 1, 2 or 5 times a power of ten at or above v, so that ticks read well.
double nice_ceiling(double v) {
    if (v <= 0) return 1;
    const double power = std::pow(10.0, std::floor(std::log10(v)));
    for (const double m : {1.0, 2.0, 5.0}) {
        if (m * power >= v) return m * power;
    }
    return 10 * power;
}

// 20000 -> "20k"
std::string tick_label(double v) {
    return v >= 1000 ? fmt::format("{:g}k", v / 1000) : fmt::format("{:g}", v);
}

// Where the panels of the TIME_WAIT chart put things, in pixels.
struct timeline_layout {
    static constexpr int columns = 4, panel_width = 190, panel_height = 130, left = 20, top = 30;
    static constexpr int plot_left = 40, plot_top = 24, plot_width = 135, plot_height = 80;
    double end_s = 1;   // the x axis: seconds since the load began
    double step_s = 1;  // between x ticks
    double most = 10;   // the y axis, the same in every panel so that they compare
};

timeline_layout scale_for(const std::vector<scenario_result>& rows) {
    timeline_layout l;
    double end_ms = 0, most = 0;
    for (const auto& s : rows) {
        for (const auto& at : s.time_wait_series) {
            end_ms = std::max(end_ms, static_cast<double>(at.at_ms));
            most = std::max(most, static_cast<double>(std::max(at.client, at.server)));
        }
    }
    l.end_s = std::max(end_ms / 1000, 0.001);
    l.step_s = nice_ceiling(l.end_s / 3);
    // At least 10, so that scenarios with no TIME_WAIT at all draw a flat line at the bottom.
    l.most = std::max(10.0, nice_ceiling(most));
    return l;
}

std::string timeline_line(const timeline_layout& l, const scenario_result& s, bool client) {
    std::string points;
    for (const auto& at : s.time_wait_series) {
        const double value = static_cast<double>(client ? at.client : at.server);
        const double x = l.plot_left + at.at_ms / 1000.0 / l.end_s * l.plot_width;
        const double y = l.plot_top + l.plot_height * (1 - value / l.most);
        if (!points.empty()) points += ' ';
        points += fmt::format("{:.1f},{:.1f}", x, y);
    }
    const auto& last = s.time_wait_series.back();
    // Dashed as well as coloured, so the sides differ without colour too.
    return fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}><title>{}, "
        "{} side: {} at the end</title></polyline>\n",
        points, client ? client_colour : server_colour, client ? "" : " stroke-dasharray=\"5 3\"",
        escaped(s.name), client ? "client" : "server", client ? last.client : last.server);
}

// One small panel: the scenario's name, its axes with ticks, a line per side.
std::string timeline_panel(const timeline_layout& l, const scenario_result& s, int x, int y) {
    const int bottom = l.plot_top + l.plot_height, right = l.plot_left + l.plot_width;
    std::string g = fmt::format(
        "<g transform=\"translate({},{})\"><text x=\"{}\" y=\"14\" class=\"label\">{}</text>\n", x,
        y, l.plot_left, escaped(s.name));
    for (const double v : {0.0, l.most / 2, l.most}) {
        const double ty = l.plot_top + l.plot_height * (1 - v / l.most);
        g += fmt::format(
            "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/><text x=\"{}\" "
            "y=\"{:.1f}\" class=\"tick\" text-anchor=\"end\">{}</text>\n",
            l.plot_left, ty, right, ty, l.plot_left - 4, ty + 3, tick_label(v));
    }
    for (int k = 0; k * l.step_s <= l.end_s * 1.0001; ++k) {
        const double t = k * l.step_s;
        const double tx = l.plot_left + t / l.end_s * l.plot_width;
        g += fmt::format(
            "<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#888\"/><text "
            "x=\"{:.1f}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{:g}</text>\n",
            tx, bottom, tx, bottom + 4, tx, bottom + 15, t);
    }
    g += fmt::format("<path d=\"M{} {}V{}H{}\" fill=\"none\" stroke=\"#888\"/>\n", l.plot_left,
                     l.plot_top, bottom, right);
    if (s.time_wait_series.empty()) {
        g += fmt::format("<text x=\"{}\" y=\"{}\" class=\"tick\">not measured</text>\n",
                         l.plot_left + 6, l.plot_top + l.plot_height / 2);
    } else {
        g += timeline_line(l, s, true);
        g += timeline_line(l, s, false);  // on top: dashed, so a client line under it shows
    }
    return g + "</g>\n";
}

// Small multiples, one panel per scenario on one scale: the causes climb, the fixes stay at 0.
std::string timeline_chart(const std::vector<scenario_result>& rows) {
    using layout = timeline_layout;
    const auto l = scale_for(rows);
    const int row_count = (static_cast<int>(rows.size()) + layout::columns - 1) / layout::columns;
    const int width = layout::left + layout::columns * layout::panel_width;
    const int height = layout::top + row_count * layout::panel_height + 40;
    const std::string title = "TIME_WAIT over time";
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart timeline\" width=\"{}\" "
        "height=\"{}\" role=\"img\" aria-label=\"{}\">\n<text x=\"0\" y=\"16\" "
        "class=\"title\">{}</text>\n<text transform=\"translate(12,{}) rotate(-90)\" "
        "class=\"tick\" text-anchor=\"middle\">TIME_WAIT created</text>\n",
        width, height, title, title, layout::top + row_count * layout::panel_height / 2);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const int column = static_cast<int>(i) % layout::columns;
        const int row = static_cast<int>(i) / layout::columns;
        svg += timeline_panel(l, rows[i], layout::left + column * layout::panel_width,
                              layout::top + row * layout::panel_height);
    }
    const int legend = height - 14;
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"2\"/>"
        "<text x=\"{4}\" y=\"{5}\" class=\"label\">client side</text>\n<line x1=\"{6}\" "
        "y1=\"{1}\" x2=\"{7}\" y2=\"{1}\" stroke=\"{8}\" stroke-width=\"2\" "
        "stroke-dasharray=\"5 3\"/><text x=\"{9}\" y=\"{5}\" class=\"label\">server side</text>\n"
        "<text x=\"{10}\" y=\"{5}\" class=\"tick\">x: seconds since the scenario's load began; "
        "y: TIME_WAIT it created, on one scale for every panel</text>\n",
        layout::left, legend - 4, layout::left + 24, client_colour, layout::left + 30, legend,
        layout::left + 120, layout::left + 144, server_colour, layout::left + 150,
        layout::left + 250);
    return svg + "</svg>\n";
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
    out += timeline_chart(rows);
    out += bar_chart("requests/s", rows,
                     {{"requests/s", "#3b7dd8", [](const auto& s) { return s.rps; }}});
    out += bar_chart("TIME_WAIT created", rows,
                     {{"client side", std::string(client_colour),
                       [](const auto& s) { return static_cast<double>(s.time_wait_client); }},
                      {"server side", std::string(server_colour),
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
        "weight:bold;font-size:14px}svg "
        "text.tick{font-size:10px;fill:#555}table{border-collapse:collapse;font-size:13px}td,th{"
        "border:"
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
