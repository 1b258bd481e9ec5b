// Durations on the command line: "500ms", "5s", "2m" or a plain number of seconds.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace waitless::app {

inline std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || value < 0) return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    double ms = 0;
    if (unit.empty() || unit == "s") {
        ms = value * 1000;
    } else if (unit == "ms") {
        ms = value;
    } else if (unit == "m") {
        ms = value * 60'000;
    } else {
        return std::nullopt;
    }
    if (ms < 1 || ms > 86'400'000) return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

inline CLI::Validator duration_check() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            return parse_duration(text) ? std::string()
                                        : "'" + text + "' is not a duration (500ms, 5s, 2m)";
        },
        "DURATION");
}

}  // namespace waitless::app
