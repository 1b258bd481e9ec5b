// The demo: embedded backends and a proxy on loopback, one load run per cause of TIME_WAIT and
// per fix, and what each left behind (TIME_WAIT on each side, requests/s, connect() time).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "waitless/core/error.hpp"
#include "waitless/doctor/doctor.hpp"

namespace waitless::demo {

struct options {
    std::chrono::milliseconds per_scenario{4000};  // each load run
    std::size_t connections = 20;                  // virtual users per run
    bool exhaustion = true;                        // also the private-namespace part (needs root)
    bool doctor = true;                            // audit this host before the scenarios run
    double doctor_sample_s = 1.0;
};

// The TIME_WAIT a scenario had created at one moment of its run, counted against what existed
// before it started, as its final figures are.
struct time_wait_sample {
    std::uint32_t at_ms = 0;  // since the load began
    std::uint64_t client = 0;
    std::uint64_t server = 0;
};

// What one scenario did; the TIME_WAIT figures count only what this scenario created.
struct scenario_result {
    std::string name;   // "short", "keepalive", ... "close-auto-reset"
    std::string title;  // what it runs, in a few words
    std::string lesson;
    double seconds = 0;
    std::uint64_t requests = 0;
    double rps = 0;
    double p99_ms = 0;
    double connect_p50_ms = 0;  // 0 when no connect() was timed (pool mode)
    double connect_p99_ms = 0;
    double connect_max_ms = 0;
    std::uint64_t connects = 0;
    std::uint64_t time_wait_client = 0;
    std::uint64_t time_wait_server = 0;
    std::uint64_t errors = 0;
    std::uint64_t ports_exhausted = 0;  // of the errors: connect() failed with EADDRNOTAVAIL
    bool time_wait_measured = true;
    // From 0 at the start, every ~250 ms (at most about 40 samples), to the final figures at
    // the end; empty when the census could not be taken.
    std::vector<time_wait_sample> time_wait_series;
};

// The private network namespace: tcp_tw_reuse=0 and 1,000 ephemeral ports.
struct exhaustion_part {
    bool ran = false;
    std::string skipped_reason;  // when it did not run
    std::string port_range;      // "40000 40999"
    std::vector<scenario_result> scenarios;
};

struct outcome {
    options setup;
    std::vector<scenario_result> scenarios;
    exhaustion_part exhaustion;
    bool doctor_ran = false;
    std::string doctor_error;
    std::vector<doctor::finding> findings;
};

// Told when a scenario starts (result empty) and when it ends.
struct progress {
    std::size_t index = 0;  // 1-based, over every scenario of the run
    std::size_t total = 0;
    const std::string* name = nullptr;
    const std::string* title = nullptr;
    const scenario_result* result = nullptr;  // set when it ended
};
using progress_fn = std::function<void(const progress&)>;

// The names of the loopback scenarios, in the order they run.
const std::vector<std::string>& scenario_names();

// Runs everything. Fails only when a backend cannot start at all; a scenario's failed
// requests are counted in its result.
result<outcome> run(const options& o, const progress_fn& on_progress = {});

// The table, the lessons, the exhaustion part and the doctor's findings.
std::string render_text(const outcome& o);
// {"scenarios": [...], "exhaustion": {...}, "doctor": {...}}
nlohmann::ordered_json render_json(const outcome& o);
// A self-contained HTML page: inline SVG charts (TIME_WAIT over time, then bars), the table and
// the lessons.
std::string render_html(const outcome& o);

namespace detail {
// A private network namespace for the calling thread: unshare, lo up, tcp_tw_reuse=0 and the
// given port range. Gone with the last socket and thread in it.
result<void> enter_private_netns(std::string_view port_range);
}  // namespace detail

}  // namespace waitless::demo
