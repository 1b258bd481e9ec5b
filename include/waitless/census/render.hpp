// The census as JSON (keys in a reading order), Prometheus text exposition, or a table for people.
#pragma once

#include <cstddef>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "waitless/census/census.hpp"

namespace waitless::census {

inline constexpr std::size_t all_rows = std::numeric_limits<std::size_t>::max();

// At most `top` destinations and listeners, highest occupancy / TIME_WAIT first.
nlohmann::ordered_json to_json(const snapshot& s, std::size_t top = all_rows);
// Metrics named waitless_*, usable as a node_exporter textfile-collector file.
std::string to_prometheus(const snapshot& s, std::size_t top = all_rows);
// Colours (ANSI) only when `colour` is set: callers pass isatty(stdout).
std::string to_table(const snapshot& s, std::size_t top, bool colour);

}  // namespace waitless::census
