// The demo's plan: the loopback scenarios in order, the namespace part, the doctor.
#include "waitless/demo/demo.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <thread>

#include "scenario.hpp"

namespace waitless::demo {
namespace {

using detail::scenario_spec;
using loadgen::mode;
using policy = http::server_close_policy;

std::vector<scenario_spec> loopback_specs() {
    return {
        {"short", "short connections straight to the backend",
         "A new connection per request, the client closing first: each leaves a TIME_WAIT on the "
         "client, holding an ephemeral port towards the backend for 60 s, and connect() slows "
         "as they fill (this backend is `graceful`, which lets the client's FIN stand; the "
         "default `auto` would reset it; loopback's tcp_tw_reuse=2 takes over those older than "
         "1 s, so fewer remain than connections were made).",
         mode::short_lived, policy::graceful},
        {"keepalive", "keep-alive: one connection per user",
         "One long connection per user carries every request: no connect() per request, no "
         "TIME_WAIT, far more requests/s.",
         mode::keepalive, policy::automatic},
        {"pool", "the client pool (http::client)",
         "A pooled client reuses idle connections between requests: the same requests, a "
         "handful of connections, no TIME_WAIT.",
         mode::pool, policy::automatic},
        {"proxy", "short connections to a local proxy that pools to the backend",
         "Clients that cannot change keep making short connections, but to a local proxy that "
         "resets them (no TIME_WAIT on loopback) and keeps a few long connections to the "
         "backend.",
         mode::short_lived, policy::automatic, 1, 1, true},
        {"workers", "keep-alive against a 2-worker backend, 2 client threads",
         "One SO_REUSEPORT listener per worker spreads the connections over the cores; with "
         "keep-alive still no TIME_WAIT (the gain is small when the load generator shares the "
         "same cores).",
         mode::keepalive, policy::automatic, 2, 2},
        {"close-server-first", "Connection: close, the server closes first (graceful)",
         "The server closing first keeps the TIME_WAIT on its listening port, where it takes "
         "no ephemeral port: connect() stays fast.",
         mode::server_close, policy::graceful},
        {"close-client-first", "short connections, the client closes first (graceful)",
         "The client closing first puts the TIME_WAIT on the client, where it holds ephemeral "
         "ports and slows connect() as they fill: compare connect p99 and requests/s with "
         "close-server-first.",
         mode::short_lived, policy::graceful},
        {"close-auto-reset", "short connections, the server's auto policy resets",
         "`auto` resets a loopback client's connection once the response is acknowledged: no "
         "TIME_WAIT on either side, and no port held.",
         mode::short_lived, policy::automatic},
    };
}

std::vector<scenario_spec> exhaustion_specs() {
    return {
        {"exhaustion-short", "short connections, 1,000 ports, tcp_tw_reuse=0", "",
         mode::short_lived, policy::graceful, 1, 1, false, 8080},
        {"exhaustion-pool", "the same load through the client pool", "", mode::pool,
         policy::automatic, 1, 1, false, 8081},
        {"exhaustion-proxy", "the same load through the local proxy", "", mode::short_lived,
         policy::automatic, 1, 1, true, 8082, 8083},
    };
}

constexpr std::string_view namespace_port_range = "40000 40999";

std::string exhaustion_lesson(const scenario_result& s) {
    if (s.name == "exhaustion-short") {
        if (s.ports_exhausted == 0) {
            return fmt::format(
                "{} connections and no EADDRNOTAVAIL: the run was too short or too slow to use "
                "1,000 ports.",
                s.connects);
        }
        return fmt::format(
            "{} connections took the 1,000 ports into TIME_WAIT, then connect() failed {} times "
            "with EADDRNOTAVAIL (ephemeral ports exhausted); connect() p50 {:.3f} ms, p99 {:.3f} "
            "ms, max {:.3f} ms as the free ports ran out.",
            s.connects, s.ports_exhausted, s.connect_p50_ms, s.connect_p99_ms, s.connect_max_ms);
    }
    if (s.name == "exhaustion-proxy") {
        return fmt::format(
            "{} short connections to the proxy, {} errors: the proxy resets each (no TIME_WAIT, "
            "no port held) and pools its own to the backend, so 1,000 ports suffice.",
            s.connects, s.errors);
    }
    return fmt::format("{} connections for {} requests, {} errors: 1,000 ports are plenty.",
                       s.connects, s.requests, s.errors);
}

}  // namespace

const std::vector<std::string>& scenario_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const auto& s : loopback_specs()) n.push_back(s.name);
        return n;
    }();
    return names;
}

result<outcome> run(const options& o, const progress_fn& on_progress) {
    outcome out;
    out.setup = o;
    if (o.doctor) {
        // Before the scenarios, so the audit sees this host and not the demo's own TIME_WAIT.
        doctor::gather_options g;
        g.sample_s = o.doctor_sample_s;
        if (auto facts = doctor::gather(g)) {
            out.doctor_ran = true;
            out.findings = doctor::audit(*facts);
        } else {
            out.doctor_error = facts.error().message();
        }
    }

    const auto loopback = loopback_specs();
    const auto narrow = exhaustion_specs();
    const bool may_make_namespace = o.exhaustion && ::geteuid() == 0;
    const std::size_t total = loopback.size() + (may_make_namespace ? narrow.size() : 0);
    std::size_t index = 0;
    auto run_one = [&](const scenario_spec& spec,
                       std::chrono::milliseconds duration) -> result<scenario_result> {
        ++index;
        if (on_progress) on_progress({index, total, &spec.name, &spec.title, nullptr});
        auto r = detail::run_scenario(spec, duration, o.connections);
        if (r && on_progress) on_progress({index, total, &spec.name, &spec.title, &*r});
        return r;
    };

    for (const auto& spec : loopback) {
        auto r = run_one(spec, o.per_scenario);
        if (!r) return std::unexpected(r.error());
        out.scenarios.push_back(std::move(*r));
    }

    auto& ex = out.exhaustion;
    ex.port_range = std::string(namespace_port_range);
    if (!o.exhaustion) {
        ex.skipped_reason = "turned off (--no-exhaustion)";
    } else if (!may_make_namespace) {
        ex.skipped_reason = "needs root to create a network namespace; run as root to see it";
    } else {
        // A thread of its own enters the namespace; everything it starts (peers, load
        // generator threads) inherits it, and the namespace goes with the last of them.
        const auto duration = std::min(o.per_scenario, std::chrono::milliseconds(3000));
        std::error_code failed;
        std::thread inside([&] {
            if (auto entered = detail::enter_private_netns(namespace_port_range); !entered) {
                failed = entered.error();
                return;
            }
            for (const auto& spec : narrow) {
                auto r = run_one(spec, duration);
                if (!r) {
                    failed = r.error();
                    return;
                }
                r->lesson = exhaustion_lesson(*r);
                ex.scenarios.push_back(std::move(*r));
            }
        });
        inside.join();
        ex.ran = !failed;
        if (failed) ex.skipped_reason = "private network namespace: " + failed.message();
    }
    return out;
}

}  // namespace waitless::demo
