// How main() meets the subcommands: each adds itself to the CLI and returns what runs it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <stdexcept>
#include <string>

namespace waitless::app {

// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_could_not_run = 3;

// A start-up failure (bad flag value, missing namespace, no permission): one line, exit 3.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A subcommand: its CLI node, and what runs it once the flags are parsed.
struct command {
    CLI::App* cli = nullptr;
    std::function<int()> run;
};

command add_stat(CLI::App& parent);
command add_doctor(CLI::App& parent);
command add_serve(CLI::App& parent);
command add_proxy(CLI::App& parent);
command add_bench(CLI::App& parent);
command add_demo(CLI::App& parent);

// Enters the network namespace named by --netns, when one was given; throws usage_error.
void enter_netns_or_throw(const std::string& name);

}  // namespace waitless::app
