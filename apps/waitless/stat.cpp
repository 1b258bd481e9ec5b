// `waitless stat`: the TIME_WAIT census as a table, JSON or Prometheus text.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "command.hpp"
#include "waitless/census/census.hpp"
#include "waitless/census/render.hpp"

namespace waitless::app {
namespace {

struct stat_flags {
    bool json = false;
    bool prometheus = false;
    std::size_t top = 10;
    double watch_s = 0;
    std::size_t count = 0;  // refreshes in --watch mode; 0 = until interrupted
    std::string destination;
    std::string port;
    std::string netns;
    double window_s = 10;
};

// A CLI11 check that runs a core parser and reports its failure in the user's words.
template <class Parse>
CLI::Validator parsed_by(Parse parse, std::string what) {
    return CLI::Validator(
        [parse, what](std::string& text) -> std::string {
            return parse(text) ? std::string() : "'" + text + "' is not " + what;
        },
        "");
}

census::options census_options(const stat_flags& flags) {
    census::options opts;
    if (!flags.destination.empty())
        opts.destination = *core::address_filter::parse(flags.destination);
    if (!flags.port.empty()) opts.port = *core::parse_port(flags.port);
    opts.rate_window_s = flags.window_s;
    return opts;
}

void print_once(const census::snapshot& s, const stat_flags& flags, bool top_given, bool watching) {
    // Machine formats list every row unless --top was given; the table shows the top 10.
    const std::size_t rows = top_given ? flags.top : census::all_rows;
    std::string out;
    if (flags.json) {
        out = census::to_json(s, rows).dump(watching ? -1 : 2) + "\n";
    } else if (flags.prometheus) {
        out = census::to_prometheus(s, rows);
    } else {
        const bool tty = ::isatty(STDOUT_FILENO) == 1;
        if (watching && tty) out = "\x1b[H\x1b[2J";
        out += census::to_table(s, flags.top, tty);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
}

int run_stat(const stat_flags& flags, bool top_given) {
    enter_netns_or_throw(flags.netns);
    const auto opts = census_options(flags);
    const bool watching = flags.watch_s > 0;
    for (std::size_t round = 0;; ++round) {
        auto snapshot = census::take_snapshot(opts);
        if (!snapshot) {
            throw usage_error(
                "cannot take the socket census (netlink NETLINK_SOCK_DIAG and "
                "/proc/sys/net): " +
                snapshot.error().message());
        }
        if (watching && round > 0 && !flags.json && !flags.prometheus &&
            ::isatty(STDOUT_FILENO) != 1) {
            std::fputs("\n", stdout);
        }
        print_once(*snapshot, flags, top_given, watching);
        if (!watching || (flags.count > 0 && round + 1 >= flags.count)) return exit_ok;
        std::this_thread::sleep_for(std::chrono::duration<double>(flags.watch_s));
    }
}

}  // namespace

command add_stat(CLI::App& parent) {
    auto* cli = parent.add_subcommand(
        "stat",
        "Socket census: TIME_WAIT per destination with its port budget, close rate and "
        "time to exhaustion");
    auto flags = std::make_shared<stat_flags>();
    auto* json = cli->add_flag("--json", flags->json, "Print JSON");
    auto* prometheus = cli->add_flag("--prometheus", flags->prometheus,
                                     "Print Prometheus text exposition (textfile collector)");
    json->excludes(prometheus);
    auto* top = cli->add_option("--top", flags->top,
                                "Show the N destinations with the highest occupancy (default 10; "
                                "JSON and Prometheus list all unless given)")
                    ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    cli->add_option("--watch", flags->watch_s, "Refresh every SECONDS until interrupted")
        ->check(CLI::Range(0.1, 3600.0));
    cli->add_option("--count", flags->count, "With --watch: stop after N refreshes")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    cli->add_option("--dst", flags->destination, "Only sockets to this remote IP[:PORT]")
        ->check(parsed_by(core::address_filter::parse, "an IP[:PORT] ([IPv6]:PORT for IPv6)"));
    cli->add_option("--port", flags->port, "Only sockets with this local or remote port")
        ->check(parsed_by(core::parse_port, "a port number 1-65535"));
    cli->add_option("--netns", flags->netns, "Look inside the named network namespace");
    cli->add_option("--window", flags->window_s,
                    "Seconds of TIME_WAIT history that closes_per_s is measured over (1-60)")
        ->check(CLI::Range(1.0, 60.0));
    return {cli, [flags, top] { return run_stat(*flags, top->count() > 0); }};
}

}  // namespace waitless::app
