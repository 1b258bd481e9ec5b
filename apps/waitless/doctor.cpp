// `waitless doctor`: audits the namespace's TCP settings, counters and sockets; prints findings.
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "command.hpp"
#include "waitless/doctor/doctor.hpp"

namespace waitless::app {
namespace {

constexpr double max_sample_s = 60.0;

struct doctor_flags {
    std::string netns;
    double sample_s = 1.0;
    bool json = false;
    bool emit_sysctl = false;
};

// Checked on the text so that "nan", "inf" and "1e999" are refused with a clear message.
CLI::Validator sample_seconds() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            double value = 0;
            const auto* end = text.data() + text.size();
            const auto [last, ec] = std::from_chars(text.data(), end, value);
            if (text.empty() || ec != std::errc{} || last != end || !std::isfinite(value)) {
                return "'" + text + "' is not a number of seconds";
            }
            if (value < 0 || value > max_sample_s) {
                return "'" + text + "' is outside 0-60 seconds";
            }
            return {};
        },
        "SECONDS (0-60)");
}

int run_doctor(const doctor_flags& flags, bool netns_given) {
    if (netns_given && flags.netns.empty()) throw usage_error("--netns needs a namespace name");
    enter_netns_or_throw(flags.netns);
    auto facts = doctor::gather({.sample_s = flags.sample_s});
    if (!facts) {
        throw usage_error(
            "cannot read the kernel's TCP settings and counters (/proc/sys/net, "
            "/proc/net): " +
            facts.error().message());
    }
    const auto findings = doctor::audit(*facts);
    std::string out;
    if (flags.json) {
        out = doctor::render_json(findings).dump(2) + "\n";
    } else if (flags.emit_sysctl) {
        out = doctor::render_sysctl(findings);
    } else {
        out = doctor::render_text(findings, ::isatty(STDOUT_FILENO) == 1);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return doctor::exit_code(findings);
}

}  // namespace

command add_doctor(CLI::App& parent) {
    auto* cli = parent.add_subcommand(
        "doctor",
        "Audit TCP settings, counters and sockets for TIME_WAIT trouble; exit 0 fine, 1 "
        "warnings, 2 critical, 3 could not run");
    auto flags = std::make_shared<doctor_flags>();
    auto* netns = cli->add_option("--netns", flags->netns, "Audit the named network namespace");
    cli->add_option("--sample", flags->sample_s,
                    "Seconds between the two counter readings for rates (default 1, 0 = none)")
        ->check(sample_seconds());
    auto* json = cli->add_flag("--json", flags->json, "Print the findings as JSON");
    auto* emit = cli->add_flag("--emit-sysctl", flags->emit_sysctl,
                               "Print a sysctl.d snippet with the changes the findings justify");
    json->excludes(emit);
    return {cli, [flags, netns] { return run_doctor(*flags, netns->count() > 0); }};
}

}  // namespace waitless::app
