// Printing findings: human text (grouped by severity), JSON, and a sysctl.d snippet.
#include <algorithm>
#include <array>
#include <set>

#include "waitless/doctor/doctor.hpp"

namespace waitless::doctor {
namespace {

constexpr std::size_t line_width = 100;
constexpr std::string_view indent = "    ";
constexpr std::size_t label_width = 10;  // "evidence: "

std::string_view colour_of(severity level) {
    switch (level) {
        case severity::critical:
            return "\x1b[1;31m";
        case severity::warning:
            return "\x1b[1;33m";
        case severity::info:
            return "\x1b[36m";
    }
    return "";
}
constexpr std::string_view colour_reset = "\x1b[0m";

std::string upper(std::string_view text) {
    std::string out(text);
    std::ranges::transform(out, out.begin(), [](char c) {
        return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    });
    return out;
}

// Word-wraps `text` to the line width; continuation lines start at `hanging` spaces.
std::string wrap(std::string_view text, std::size_t first_column, std::size_t hanging) {
    std::string out;
    std::size_t column = first_column;
    std::size_t start = 0;
    bool first_word = true;
    while (start < text.size()) {
        auto end = text.find(' ', start);
        if (end == std::string_view::npos) end = text.size();
        const auto word = text.substr(start, end - start);
        start = end + 1;
        if (word.empty()) continue;
        if (!first_word && column + 1 + word.size() > line_width) {
            out += '\n';
            out.append(hanging, ' ');
            column = hanging;
        } else if (!first_word) {
            out += ' ';
            ++column;
        }
        out += word;
        column += word.size();
        first_word = false;
    }
    return out;
}

std::string scalar_text(const nlohmann::ordered_json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

// "k=v, k=v" for an object, the value itself for a scalar, compact JSON otherwise.
std::string value_text(const nlohmann::ordered_json& value) {
    if (value.is_object()) {
        std::string out;
        for (const auto& [key, item] : value.items()) {
            if (!out.empty()) out += ", ";
            out += key + "=" + scalar_text(item);
        }
        return out;
    }
    if (value.is_array() &&
        std::ranges::all_of(value, [](const auto& v) { return !v.is_structured(); })) {
        std::string out;
        for (const auto& item : value) {
            if (!out.empty()) out += ", ";
            out += scalar_text(item);
        }
        return out;
    }
    return scalar_text(value);
}

void render_evidence(const nlohmann::ordered_json& evidence, std::string& out) {
    const std::string label_pad(indent.size() + label_width, ' ');
    bool first = true;
    for (const auto& [key, value] : evidence.items()) {
        out += first ? std::string(indent) + "evidence: " : label_pad;
        first = false;
        // Lists of records (destinations, listeners) get one line per record.
        if (value.is_array() && !value.empty() && value.front().is_object()) {
            out += key + ":\n";
            for (const auto& item : value) {
                out += label_pad + "  - " + value_text(item) + "\n";
            }
            continue;
        }
        out += key + " = " + value_text(value) + "\n";
    }
}

void render_block(const finding& f, bool colour, std::string& out) {
    // Appended piece by piece: "[" + a temporary string trips g++ 12's -Wrestrict.
    std::string tag = "[";
    tag += upper(severity_name(f.level));
    tag += ']';
    if (colour) {
        out += std::string(colour_of(f.level)) + tag + std::string(colour_reset);
    } else {
        out += tag;
    }
    out += " " + f.title + "\n";
    render_evidence(f.evidence, out);
    const auto column = indent.size() + label_width;
    out += std::string(indent) + "why:      " + wrap(f.why, column, column) + "\n";
    out += std::string(indent) + "fix:      " + wrap(f.fix, column, column) + "\n";
}

}  // namespace

std::string render_text(const std::vector<finding>& findings, bool colour) {
    std::array<std::size_t, 3> counts{};
    for (const auto& f : findings) ++counts[static_cast<std::size_t>(f.level)];
    std::string out = "waitless doctor: " + std::to_string(counts[2]) + " critical, " +
                      std::to_string(counts[1]) + " warning(s), " + std::to_string(counts[0]) +
                      " info\n";
    if (findings.empty()) {
        out += "\nNothing to report.\n";
        return out;
    }
    for (auto level : {severity::critical, severity::warning, severity::info}) {
        if (counts[static_cast<std::size_t>(level)] == 0) continue;
        out += "\n== " + std::string(severity_name(level)) + " ==\n";
        for (const auto& f : findings) {
            if (f.level != level) continue;
            out += "\n";
            render_block(f, colour, out);
        }
    }
    return out;
}

nlohmann::ordered_json render_json(const std::vector<finding>& findings) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& f : findings) {
        list.push_back({{"id", f.id},
                        {"severity", severity_name(f.level)},
                        {"title", f.title},
                        {"evidence", f.evidence},
                        {"why", f.why},
                        {"fix", f.fix}});
    }
    return {{"findings", std::move(list)}};
}

std::string render_sysctl(const std::vector<finding>& findings) {
    std::string out =
        "# sysctl.d snippet from `waitless doctor`: only the changes its findings justify.\n"
        "# Review it, save it as /etc/sysctl.d/90-waitless.conf and apply it with\n"
        "# `sysctl --system`. Settings of a network namespace must be applied inside it.\n";
    // A key set for real wins over a mitigation for the same key; the first finding wins
    // among equals (findings come most severe first).
    std::set<std::string> keys_set;
    for (const auto& f : findings) {
        if (f.sysctl && !f.sysctl->mitigation_only) keys_set.insert(f.sysctl->key);
    }
    std::set<std::string> written;
    std::size_t changes = 0;
    for (const auto& f : findings) {
        if (f.id == "tw_recycle_configured") {
            out += "\n# " + f.id + " (" + std::string(severity_name(f.level)) + "): " + f.title +
                   "\n# Delete that line: " + f.evidence.value("text", std::string()) + "\n";
            ++changes;
            continue;
        }
        if (!f.sysctl) continue;
        const auto& change = *f.sysctl;
        if (change.mitigation_only && keys_set.contains(change.key)) continue;
        if (!written.insert(change.key).second) continue;
        out += "\n# " + f.id + " (" + std::string(severity_name(f.level)) + "): " + f.title + "\n";
        const auto line = change.key + " = " + change.value;
        if (change.mitigation_only) {
            out +=
                "# Mitigation only, left commented out: apply it only if connections to these\n"
                "# destinations cannot be reused (keep-alive, pools); needs tcp_timestamps = 1\n"
                "# and never helps a server. The kernel documentation says not to change it\n"
                "# without advice of experts.\n# " +
                line + "\n";
        } else {
            out += line + "\n";
        }
        ++changes;
    }
    if (changes == 0) out += "\n# Nothing to change: no finding justifies a sysctl change.\n";
    return out;
}

}  // namespace waitless::doctor
