// One demo scenario: which peers it starts, which load it runs, and the run itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "waitless/core/error.hpp"
#include "waitless/demo/demo.hpp"
#include "waitless/http/server.hpp"
#include "waitless/loadgen/options.hpp"

namespace waitless::demo::detail {

struct scenario_spec {
    std::string name;
    std::string title;
    std::string lesson;
    loadgen::mode how = loadgen::mode::short_lived;
    http::server_close_policy policy = http::server_close_policy::automatic;
    std::size_t backend_workers = 1;
    std::size_t client_workers = 1;
    bool via_proxy = false;  // the load goes to a proxy that pools to the backend
    // 0: ports the kernel picks. In the narrow namespace the peers take fixed ports outside
    // the ephemeral range, since bind() to port 0 fails once that range is exhausted.
    std::uint16_t backend_port = 0;
    std::uint16_t proxy_port = 0;
};

// Starts fresh peers on new ports (so nothing left by an earlier scenario is counted), runs
// the load for `duration` and stops the peers. TIME_WAIT through the proxy counts both hops,
// in the final figures and in the series sampled while the load runs.
result<scenario_result> run_scenario(const scenario_spec& spec, std::chrono::milliseconds duration,
                                     std::size_t connections);

}  // namespace waitless::demo::detail
