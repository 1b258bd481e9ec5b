// The doctor: audits a network namespace's TCP settings, counters and sockets against the
// TIME_WAIT facts, and says what is wrong, why it matters and how to fix it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "waitless/census/census.hpp"
#include "waitless/core/error.hpp"
#include "waitless/core/procfs.hpp"

namespace waitless::doctor {

enum class severity { info, warning, critical };
std::string_view severity_name(severity level);  // "info", "warning", "critical"

// A sysctl.d line a finding justifies, for --emit-sysctl.
struct sysctl_change {
    std::string key;    // "net.ipv4.tcp_tw_reuse"
    std::string value;  // "2"
    // Printed commented out: only worth applying once the root fix (connection reuse) is ruled out.
    bool mitigation_only = false;
};

struct finding {
    std::string id;  // stable, documented in docs/doctor.md
    severity level = severity::info;
    std::string title;
    nlohmann::ordered_json evidence =
        nlohmann::ordered_json::object();  // the actual values behind the finding
    std::string why;
    std::string fix;
    std::optional<sysctl_change> sysctl;
};

// One `key = value` assignment in a sysctl configuration file.
struct sysctl_file_line {
    std::string path;
    std::size_t line_no = 0;  // 1-based
    std::string key;          // normalised with dots: "net.ipv4.tcp_tw_recycle"
    std::string value;
    std::string text;  // the line as written
};

// The namespace's sysctls the doctor needs besides the port budget and tcp_tw_reuse.
struct sysctl_values {
    std::int64_t max_tw_buckets = 0;
    // net.ipv4.tcp_ehash_entries (5.19+): negative when the namespace shares the global table.
    // Its absolute value halved is tcp_max_tw_buckets' default.
    std::optional<std::int64_t> ehash_entries;
    std::int64_t somaxconn = 4096;
    std::int64_t fin_timeout = 60;
    std::optional<std::int64_t> tw_reuse_delay_ms;  // about 6.14+
    std::optional<std::int64_t> tw_recycle;         // only kernels before 4.12 have it
};

// The TCP counters read twice, `interval_s` apart.
struct counter_sample {
    core::counter_table before;
    core::counter_table after;
    double interval_s = 0;

    // The latest value; 0 when the kernel has no such counter.
    std::int64_t total(std::string_view key) const;
    std::int64_t delta(std::string_view key) const;
    // Per second over the interval; none when nothing was sampled (interval 0).
    std::optional<double> rate(std::string_view key) const;
};

// Everything the checks look at, gathered once; hand-made in tests.
struct host_facts {
    census::kernel_settings settings;
    sysctl_values sysctls;
    std::optional<census::snapshot> census;  // none when the socket dump failed
    std::string census_error;
    std::optional<std::uint64_t> sockstat_time_wait;  // /proc/net/sockstat "tw"
    counter_sample counters;
    std::vector<sysctl_file_line> sysctl_files;
};

// Where sysctl configuration lives, in the order `sysctl --system` reads it.
std::vector<std::string> default_sysctl_locations();

struct gather_options {
    double sample_s = 1.0;  // seconds between the two counter readings
    std::vector<std::string> sysctl_locations = default_sysctl_locations();
};

// The assignments of one sysctl file (comments, blanks and malformed lines skipped).
std::vector<sysctl_file_line> parse_sysctl_file(std::string_view path, std::string_view text);
// Every assignment in `locations`: each a file, or a directory whose *.conf files are read in
// name order; a file name already seen in an earlier directory masks later ones, and a file
// reached twice (symlinks, /lib -> /usr/lib) is read once.
std::vector<sysctl_file_line> read_sysctl_files(const std::vector<std::string>& locations);

// Reads the calling thread's network namespace; sleeps `sample_s`. Fails only when the
// settings or counters cannot be read at all.
result<host_facts> gather(const gather_options& opts);

// The findings, most severe first.
std::vector<finding> audit(const host_facts& facts);

severity worst(const std::vector<finding>& findings);  // info when there are none
// 0 nothing above info, 1 warnings, 2 critical (3, could not run, is the caller's).
int exit_code(const std::vector<finding>& findings);

// Human output: one block per finding, grouped by severity; ANSI colours when `colour`.
std::string render_text(const std::vector<finding>& findings, bool colour);
// {"findings": [{"id", "severity", "title", "evidence", "why", "fix"}]}, keys in that order
nlohmann::ordered_json render_json(const std::vector<finding>& findings);
// A commented sysctl.d snippet with only the changes the findings justify.
std::string render_sysctl(const std::vector<finding>& findings);

}  // namespace waitless::doctor
