#include "waitless/loadgen/render.hpp"

#include <fmt/format.h>

namespace waitless::loadgen {
namespace {

constexpr double percentiles[] = {50, 90, 99, 99.9};

std::string percentile_name(double p) { return p == 99.9 ? "p99.9" : fmt::format("p{:.0f}", p); }

nlohmann::json histogram_json(const histogram& h) {
    auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
    nlohmann::json j = {{"count", h.count()}, {"mean_ms", h.mean() / 1e6}, {"max_ms", ms(h.max())}};
    for (double p : percentiles) j[percentile_name(p) + "_ms"] = ms(h.percentile(p));
    return j;
}

std::string histogram_line(const histogram& h) {
    std::string out;
    for (double p : percentiles) {
        out += fmt::format("{} {}  ", percentile_name(p), format_duration_ns(h.percentile(p)));
    }
    out += "max " + format_duration_ns(h.max());
    return out;
}

}  // namespace

std::string format_duration_ns(std::uint64_t ns) {
    if (ns < 1'000'000) return fmt::format("{}us", ns / 1000);
    if (ns < 1'000'000'000) return fmt::format("{:.2f}ms", static_cast<double>(ns) / 1e6);
    return fmt::format("{:.2f}s", static_cast<double>(ns) / 1e9);
}

std::string to_text(const report& r) {
    const auto& c = r.setup;
    std::string out =
        fmt::format("target: {}  mode: {}  connections: {}  workers: {}\n", c.to.url,
                    mode_name(c.how), c.connections, std::min(c.workers, c.connections));
    if (c.rate)
        out += fmt::format("rate: {:.0f} requests/s (latency from scheduled send)\n", *c.rate);
    out += fmt::format("requests: {} in {:.2f}s, {:.0f} requests/s", r.requests, r.seconds,
                       r.requests_per_s());
    if (r.non_2xx_3xx > 0) out += fmt::format(" ({} with status not 2xx/3xx)", r.non_2xx_3xx);
    out += "\n";
    out += "latency: " + histogram_line(r.latency) + "\n";
    out += fmt::format("connections opened: {}\n", r.connections);
    if (r.connect_time.count() > 0) out += "connect(): " + histogram_line(r.connect_time) + "\n";
    out += fmt::format("errors: {}\n", r.error_total());
    for (std::size_t k = 0; k < error_kind_count; ++k) {
        if (r.errors[k] == 0) continue;
        out += fmt::format("  {}: {}\n", describe(static_cast<error_kind>(k)), r.errors[k]);
    }
    const auto& tw = r.time_wait;
    if (!tw.available) {
        out += "TIME_WAIT: not measured (" + tw.unavailable_reason + ")\n";
        return out;
    }
    out += fmt::format(
        "TIME_WAIT created during the run: {} client side, {} server side (at the end: {} and "
        "{})\n",
        tw.client_created, tw.server_created, tw.client_at_end, tw.server_at_end);
    if (tw.busiest) {
        const auto& d = *tw.busiest;
        out += fmt::format(
            "busiest destination: {} -> {}:{}  {} TIME_WAIT + {} active of {} ports ({:.1f}% "
            "occupied{})\n",
            d.local_ip.to_string(), d.remote_ip.to_string(), d.remote_port, d.time_wait, d.active,
            d.usable_ports, d.occupancy * 100, d.reuse_applies ? ", tcp_tw_reuse applies" : "");
    }
    return out;
}

nlohmann::json to_json(const report& r) {
    const auto& c = r.setup;
    nlohmann::json errors = nlohmann::json::object();
    for (std::size_t k = 0; k < error_kind_count; ++k) {
        errors[std::string(key(static_cast<error_kind>(k)))] = r.errors[k];
    }
    nlohmann::json j = {
        {"target", c.to.url},
        {"mode", mode_name(c.how)},
        {"connections", c.connections},
        {"workers", std::min(c.workers, c.connections)},
        {"seconds", r.seconds},
        {"requests", r.requests},
        {"non_2xx_3xx", r.non_2xx_3xx},
        {"requests_per_s", r.requests_per_s()},
        {"latency", histogram_json(r.latency)},
        {"connections_opened", r.connections},
        {"connect_time", histogram_json(r.connect_time)},
        {"errors", errors},
        {"error_total", r.error_total()},
    };
    if (c.rate) j["rate"] = *c.rate;
    const auto& tw = r.time_wait;
    nlohmann::json t = {{"measured", tw.available}};
    if (tw.available) {
        t["client_created"] = tw.client_created;
        t["server_created"] = tw.server_created;
        t["client_at_end"] = tw.client_at_end;
        t["server_at_end"] = tw.server_at_end;
        if (tw.busiest) {
            const auto& d = *tw.busiest;
            t["busiest_destination"] = {
                {"local_ip", d.local_ip.to_string()},
                {"remote", d.remote_ip.to_string() + ":" + std::to_string(d.remote_port)},
                {"time_wait", d.time_wait},
                {"active", d.active},
                {"usable_ports", d.usable_ports},
                {"occupancy", d.occupancy},
                {"reuse_applies", d.reuse_applies}};
        }
    } else {
        t["reason"] = tw.unavailable_reason;
    }
    j["time_wait"] = t;
    return j;
}

std::string progress_line(const progress& p) {
    std::string out = fmt::format("{:6.1f}s  {:10.0f} requests/s  {} requests  {} errors",
                                  p.seconds, p.requests_per_s, p.requests, p.errors);
    if (p.time_wait_client) {
        out += fmt::format("  TIME_WAIT {} client, {} server", *p.time_wait_client,
                           p.time_wait_server.value_or(0));
    }
    return out;
}

}  // namespace waitless::loadgen
