// waitless: one executable, one subcommand per part of the toolkit.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <vector>

#include "command.hpp"
#include "waitless/core/netns.hpp"

namespace waitless::app {

void enter_netns_or_throw(const std::string& name) {
    if (name.empty()) return;
    if (auto entered = core::enter_netns(name); !entered) {
        throw usage_error("cannot enter network namespace '" + name +
                          "': " + entered.error().message());
    }
}

}  // namespace waitless::app

int main(int argc, char** argv) {
    using namespace waitless::app;
    CLI::App app{
        "waitless: find where TIME_WAIT comes from, and keep connections alive so it "
        "does not pile up"};
    app.set_version_flag("--version", std::string("waitless ") + WAITLESS_VERSION);
    app.require_subcommand(1);
    app.fallthrough(false);

    const std::vector<command> commands = {add_stat(app),  add_doctor(app), add_serve(app),
                                           add_proxy(app), add_bench(app),  add_demo(app)};

    // CLI11 reports a mistyped command or a stray top-level flag as "a subcommand is
    // required"; name the word the user typed instead.
    if (argc > 1) {
        const std::string first = argv[1];
        const bool known = std::ranges::any_of(
            commands, [&](const command& c) { return c.cli->check_name(first); });
        const bool top_level_flag = first == "--help" || first == "-h" || first == "--version";
        if (!known && !top_level_flag) {
            std::fprintf(stderr,
                         "waitless: error: unknown %s '%s' (commands: stat, doctor, serve, proxy, "
                         "bench, demo)\n",
                         first.starts_with('-') ? "option" : "command", first.c_str());
            return exit_could_not_run;
        }
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {  // --help and --version
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "waitless: error: %s (see waitless --help)\n", e.what());
        return exit_could_not_run;
    }

    try {
        for (const auto& c : commands) {
            if (c.cli->parsed()) return c.run();
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "waitless: error: %s\n", e.what());
        return exit_could_not_run;
    }
    return exit_could_not_run;
}
