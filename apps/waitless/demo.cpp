// `waitless demo`: every cause of TIME_WAIT and every fix, measured on this machine, in one run.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "command.hpp"
#include "waitless/demo/demo.hpp"

namespace waitless::app {
namespace {

struct demo_flags {
    double seconds = 4;
    std::size_t connections = 20;
    bool json = false;
    std::string html;
    bool quiet = false;
    bool no_exhaustion = false;
    bool no_doctor = false;
};

// A line per scenario on stderr: its name when it starts, its figures when it ends.
bool line_open = false;  // a start was shown, its end not yet

void end_open_line() {
    if (line_open) std::fputs(" failed\n", stderr);
    line_open = false;
}

void show_progress(const demo::progress& p) {
    if (p.result == nullptr) {
        end_open_line();
        line_open = true;
        std::fprintf(stderr, "[%zu/%zu] %-19s %s ...", p.index, p.total, p.name->c_str(),
                     p.title->c_str());
    } else {
        line_open = false;
        const auto& r = *p.result;
        std::fprintf(stderr, " %.0f req/s, TIME_WAIT %llu client / %llu server, %llu errors\n",
                     r.rps, static_cast<unsigned long long>(r.time_wait_client),
                     static_cast<unsigned long long>(r.time_wait_server),
                     static_cast<unsigned long long>(r.errors));
    }
    std::fflush(stderr);
}

int run_demo(const demo_flags& flags) {
    ::signal(SIGPIPE, SIG_IGN);
    demo::options o;
    o.per_scenario = std::chrono::milliseconds(static_cast<long long>(flags.seconds * 1000));
    o.connections = flags.connections;
    o.exhaustion = !flags.no_exhaustion;
    o.doctor = !flags.no_doctor;
    std::ofstream html;
    if (!flags.html.empty()) {
        // Opened first, so a path that cannot be written fails before a minute of load.
        html.open(flags.html, std::ios::trunc);
        if (!html) throw usage_error("--html '" + flags.html + "': cannot write this file");
    }
    demo::progress_fn progress;
    if (!flags.quiet) progress = show_progress;
    auto outcome = demo::run(o, progress);
    end_open_line();
    if (!outcome) throw usage_error("cannot run the demo: " + outcome.error().message());
    const std::string out =
        flags.json ? demo::render_json(*outcome).dump(2) + "\n" : demo::render_text(*outcome);
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (html.is_open()) {
        html << demo::render_html(*outcome);
        html.close();
        if (!html) throw usage_error("--html '" + flags.html + "': write failed");
    }
    return exit_ok;
}

}  // namespace

command add_demo(CLI::App& parent) {
    auto* cli = parent.add_subcommand(
        "demo",
        "Reproduce every cause of TIME_WAIT and show each fix on loopback: short connections, "
        "keep-alive, a client pool, a local proxy, workers, who closes; a table, lessons and "
        "the doctor's findings");
    auto flags = std::make_shared<demo_flags>();
    cli->add_option("--seconds", flags->seconds,
                    "Load per scenario, in seconds (default 4; the whole demo takes about 11 "
                    "times this)")
        ->check(CLI::Range(0.2, 60.0));
    cli->add_option("-c,--connections", flags->connections,
                    "Virtual users per scenario, each with one request in flight (default 20)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
    cli->add_flag("--json", flags->json, "Print the results as JSON");
    cli->add_option("--html", flags->html,
                    "Also write a self-contained HTML report (SVG charts, table, lessons)");
    cli->add_flag("-q,--quiet", flags->quiet, "No progress lines on stderr");
    cli->add_flag("--no-exhaustion", flags->no_exhaustion,
                  "Skip the port exhaustion part (a private network namespace; needs root)");
    cli->add_flag("--no-doctor", flags->no_doctor, "Skip the doctor's audit of this host");
    return {cli, [flags] { return run_demo(*flags); }};
}

}  // namespace waitless::app
