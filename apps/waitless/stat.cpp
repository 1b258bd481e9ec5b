#include "command.hpp"
namespace waitless::app {
command add_stat(CLI::App& parent) {
    auto* cli = parent.add_subcommand("stat", "TIME_WAIT census per destination");
    return {cli, [] { return exit_could_not_run; }};
}
}  // namespace waitless::app
