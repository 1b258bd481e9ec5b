// A load run's report as text for people, JSON for programs, and the live progress line.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "waitless/loadgen/loadgen.hpp"

namespace waitless::loadgen {

std::string to_text(const report& r);
nlohmann::json to_json(const report& r);
// One line without its end ("\r" rewrites it on a terminal).
std::string progress_line(const progress& p);
// "812us", "3.41ms", "1.20s"
std::string format_duration_ns(std::uint64_t ns);

}  // namespace waitless::loadgen
