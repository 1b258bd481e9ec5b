#include "command.hpp"
namespace waitless::app {
command add_doctor(CLI::App& parent) {
    auto* cli = parent.add_subcommand("doctor", "Audit kernel settings and counters");
    return {cli, [] { return exit_could_not_run; }};
}
}  // namespace waitless::app
