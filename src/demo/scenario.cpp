#include "scenario.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "embedded.hpp"
#include "waitless/census/census.hpp"
#include "waitless/loadgen/loadgen.hpp"

namespace waitless::demo::detail {
namespace {

struct time_wait_pair {
    std::uint64_t client = 0;
    std::uint64_t server = 0;
};

// TIME_WAIT towards or on one port, in the calling thread's namespace.
std::optional<time_wait_pair> time_wait_on(std::uint16_t port) {
    census::options o;
    o.port = port;
    auto s = census::take_snapshot(o);
    if (!s) return std::nullopt;
    return time_wait_pair{s->time_wait_client, s->time_wait_server};
}

std::uint64_t grew(std::uint64_t after, std::uint64_t before) {
    return after > before ? after - before : 0;
}

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::uint32_t whole_ms(double seconds) {
    return static_cast<std::uint32_t>(std::llround(std::max(seconds, 0.0) * 1000));
}

// About 250 ms between samples: shorter for runs under a second, so they still show a shape,
// longer for long runs, so a scenario keeps at most about 40 samples.
std::chrono::milliseconds sample_interval(std::chrono::milliseconds duration) {
    return std::max(std::min(duration / 4, std::chrono::milliseconds(250)), duration / 40);
}

}  // namespace

result<scenario_result> run_scenario(const scenario_spec& spec, std::chrono::milliseconds duration,
                                     std::size_t connections) {
    auto backend = embedded_backend::start(spec.policy, spec.backend_workers, spec.backend_port);
    if (!backend) return std::unexpected(backend.error());
    std::unique_ptr<embedded_proxy> proxy;
    std::uint16_t port = (*backend)->port();
    if (spec.via_proxy) {
        auto p = embedded_proxy::start(port, spec.proxy_port);
        if (!p) return std::unexpected(p.error());
        proxy = std::move(*p);
        port = proxy->port();
    }
    // The proxy's own hop to the backend, which the load generator's census does not see.
    std::optional<time_wait_pair> upstream_before;
    if (spec.via_proxy) upstream_before = time_wait_on((*backend)->port());

    loadgen::config c;
    auto to = loadgen::parse_target("http://127.0.0.1:" + std::to_string(port) + "/");
    if (!to) return std::unexpected(to.error());
    c.to = std::move(*to);
    c.how = spec.how;
    c.connections = connections;
    c.workers = std::min(spec.client_workers, connections);
    c.duration = duration;
    c.progress_interval = sample_interval(duration);
    // The load generator's progress carries the TIME_WAIT created so far, counted as its final
    // figures are; its census runs on this thread between ticks, away from the load's threads.
    std::vector<time_wait_sample> series{{}};  // nothing created yet when the load begins
    const auto sample = [&](const loadgen::progress& p) {
        if (!p.time_wait_client || !p.time_wait_server) return;
        time_wait_sample at{whole_ms(p.seconds), *p.time_wait_client, *p.time_wait_server};
        if (at.at_ms <= series.back().at_ms) return;
        if (upstream_before) {
            const auto upstream = time_wait_on((*backend)->port());
            if (!upstream) return;
            at.client += grew(upstream->client, upstream_before->client);
            at.server += grew(upstream->server, upstream_before->server);
        }
        series.push_back(at);
    };
    auto r = loadgen::run(c, sample);
    if (!r) return std::unexpected(r.error());

    scenario_result s;
    s.name = spec.name;
    s.title = spec.title;
    s.lesson = spec.lesson;
    s.seconds = r->seconds;
    s.requests = r->requests;
    s.rps = r->requests_per_s();
    s.p99_ms = ms(r->latency.percentile(99));
    if (r->connect_time.count() > 0) {
        s.connect_p50_ms = ms(r->connect_time.percentile(50));
        s.connect_p99_ms = ms(r->connect_time.percentile(99));
        s.connect_max_ms = ms(r->connect_time.max());
    }
    s.connects = r->connections;
    s.errors = r->error_total() + r->non_2xx_3xx;
    s.ports_exhausted = r->errors[static_cast<std::size_t>(loadgen::error_kind::ports_exhausted)];
    s.time_wait_measured = r->time_wait.available;
    s.time_wait_client = r->time_wait.client_created;
    s.time_wait_server = r->time_wait.server_created;
    if (upstream_before) {
        if (auto after = time_wait_on((*backend)->port())) {
            s.time_wait_client += grew(after->client, upstream_before->client);
            s.time_wait_server += grew(after->server, upstream_before->server);
        } else {
            s.time_wait_measured = false;
        }
    }
    if (s.time_wait_measured) {
        // Ends on the final figures, so the chart's last point is the table's.
        series.push_back({std::max(whole_ms(r->seconds), series.back().at_ms + 1),
                          s.time_wait_client, s.time_wait_server});
        s.time_wait_series = std::move(series);
    }
    return s;
}

}  // namespace waitless::demo::detail
