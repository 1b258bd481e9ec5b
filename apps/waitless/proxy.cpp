// `waitless proxy`: the pooling reverse proxy and load balancer (flags -> proxy::options).
#include "waitless/proxy/proxy.hpp"

#include <signal.h>

#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command.hpp"
#include "duration.hpp"
#include "listening.hpp"
#include "waitless/core/procfs.hpp"
#include "waitless/net/options.hpp"

namespace waitless::app {
namespace {

struct proxy_flags {
    std::vector<std::string> listen;
    std::vector<std::string> upstream;
    std::size_t workers = 0;
    std::string balance = "round_robin";
    std::string close_policy = "auto";
    std::string trusted_peers;
    unsigned defer_accept = 1;
    std::string source;
    std::string local_port_range;
    bool local_port_range_given = false;  // also when given empty
    std::string client_header_timeout = "10s";
    std::string client_idle_timeout = "60s";
    std::string client_io_timeout = "60s";
    std::string connect_timeout = "5s";
    std::string upstream_header_timeout = "30s";
    std::string upstream_idle_timeout = "60s";
    std::string keep_alive_margin = "1s";
    std::string total_timeout = "5m";
    std::string drain_timeout = "30s";
    std::uint64_t max_body_size = 0;
    std::size_t max_connections = 10000;
    std::size_t upstream_connections = 64;
    std::uint64_t upstream_max_uses = 0;
    std::string upstream_max_lifetime;
    double retry_budget = 0.2;
    unsigned max_failures = 3;
    std::string ejection_time = "1s";
    bool no_x_forwarded_for = false;
    bool no_x_forwarded_proto = false;
    bool no_forwarded = false;
};

// "LOW-HIGH", two ports with LOW <= HIGH.
net::port_range port_range_of(const std::string& text) {
    const auto bad = [&] {
        return usage_error("--local-port-range '" + text +
                           "': expected LOW-HIGH, two ports from 1 to 65535 with LOW <= HIGH");
    };
    const auto dash = text.find('-');
    if (dash == std::string::npos) throw bad();
    const auto port = [&](std::string_view part) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || ec != std::errc() || end != part.data() + part.size() || value < 1 ||
            value > 65535) {
            throw bad();
        }
        return static_cast<std::uint16_t>(value);
    };
    const std::string_view all(text);
    const net::port_range range{port(all.substr(0, dash)), port(all.substr(dash + 1))};
    if (range.low > range.high) throw bad();
    return range;
}

// Said once at start: what the kernel will make of --local-port-range.
void note_port_range(const net::port_range& range) {
    if (!net::local_port_range_supported()) {
        std::fprintf(stderr,
                     "waitless proxy: this kernel has no IP_LOCAL_PORT_RANGE (Linux 6.3+): "
                     "--local-port-range is ignored, net.ipv4.ip_local_port_range applies\n");
        return;
    }
    const auto ns = core::read_sysctl_numbers("net.ipv4.ip_local_port_range");
    if (!ns || ns->size() != 2) return;
    const auto low = (*ns)[0];
    const auto high = (*ns)[1];
    if (range.low < low || range.low > high || range.high < low || range.high > high) {
        std::fprintf(stderr,
                     "waitless proxy: --local-port-range %u-%u reaches outside "
                     "net.ipv4.ip_local_port_range %lld-%lld: the kernel ignores a bound outside "
                     "it\n",
                     unsigned{range.low}, unsigned{range.high}, static_cast<long long>(low),
                     static_cast<long long>(high));
    }
}

std::string milliseconds_text(const std::optional<std::chrono::milliseconds>& ms) {
    return ms ? std::to_string(ms->count()) + "ms" : std::string("none");
}

proxy::options options_of(const proxy_flags& flags) {
    proxy::options o;
    auto& so = o.server;
    apply_listening(flags.listen, flags.close_policy, flags.trusted_peers, flags.defer_accept, so);
    for (const auto& text : flags.upstream) {
        auto servers = proxy::parse_upstreams(text);
        if (!servers) {
            throw usage_error("--upstream '" + text +
                              "': expected HOST:PORT[=WEIGHT][,HOST:PORT[=WEIGHT]...]");
        }
        o.upstreams.insert(o.upstreams.end(), servers->begin(), servers->end());
    }
    if (o.upstreams.empty()) throw usage_error("--upstream is required");
    auto balance = proxy::balance_policy::parse(flags.balance);
    if (!balance) {
        throw usage_error("--balance '" + flags.balance +
                          "': expected round_robin, least_request, p2c, hash:header:NAME or "
                          "hash:client");
    }
    o.balance = *balance;
    so.workers = flags.workers;
    std::string_view sources = flags.source;
    while (!sources.empty()) {
        const auto comma = sources.find(',');
        const auto one = sources.substr(0, comma);
        auto ip = core::ip_address::parse(one);
        if (!ip) throw usage_error("--source '" + std::string(one) + "': not an IP address");
        o.source_addresses.push_back(*ip);
        sources = comma == std::string_view::npos ? std::string_view{} : sources.substr(comma + 1);
    }
    if (flags.local_port_range_given) o.local_port_range = port_range_of(flags.local_port_range);
    so.header_timeout = *parse_duration(flags.client_header_timeout);
    so.idle_timeout = *parse_duration(flags.client_idle_timeout);
    so.io_timeout = *parse_duration(flags.client_io_timeout);
    so.drain_timeout = *parse_duration(flags.drain_timeout);
    so.max_connections = flags.max_connections;
    so.max_requests = 0;  // clients keep their connections as long as they like
    o.upstream_connect_timeout = *parse_duration(flags.connect_timeout);
    o.upstream_header_timeout = *parse_duration(flags.upstream_header_timeout);
    o.upstream_idle_timeout = *parse_duration(flags.upstream_idle_timeout);
    o.upstream_keep_alive_margin = *parse_duration(flags.keep_alive_margin);
    o.total_timeout = *parse_duration(flags.total_timeout);
    o.max_body_size = flags.max_body_size;
    o.max_connections_per_upstream = flags.upstream_connections;
    o.upstream_max_uses = flags.upstream_max_uses;
    if (!flags.upstream_max_lifetime.empty())
        o.upstream_max_lifetime = *parse_duration(flags.upstream_max_lifetime);
    o.retry_budget_ratio = flags.retry_budget;
    o.health.max_failures = flags.max_failures;
    o.health.base_ejection = *parse_duration(flags.ejection_time);
    o.x_forwarded_for = !flags.no_x_forwarded_for;
    o.x_forwarded_proto = !flags.no_x_forwarded_proto;
    o.forwarded = !flags.no_forwarded;
    return o;
}

int run_proxy(const proxy_flags& flags) {
    auto options = options_of(flags);
    if (options.local_port_range) note_port_range(*options.local_port_range);
    // The workers inherit this mask, so only the sigwait() below sees the signals.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    proxy::proxy p(std::move(options));
    if (auto started = p.start(); !started) {
        throw usage_error("cannot listen: " + started.error().message());
    }
    for (const auto& address : p.addresses()) std::printf("listening: %s\n", address.c_str());
    std::fflush(stdout);

    int signal_number = 0;
    ::sigwait(&signals, &signal_number);
    p.stop();
    p.wait();
    const auto s = p.get_stats();
    const auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
    const double reuse = s.upstream_requests > 0 ? static_cast<double>(s.upstream_reused) /
                                                       static_cast<double>(s.upstream_requests)
                                                 : 0.0;
    std::fprintf(stderr,
                 "waitless proxy: stopped (%s): %llu requests on %llu client connections; "
                 "%llu relayed, %llu 503, %llu 502, %llu 504, %llu 413, %llu cut short, %llu "
                 "clients gone, %llu tunnels\n"
                 "waitless proxy: upstream: %llu connects, %llu requests, reuse ratio %.3f, "
                 "%llu retries, %llu failovers, %llu stale, %llu ejections, %llu past the idle "
                 "timeout, %llu too idle to risk\n"
                 "waitless proxy: closes: client side %llu TIME_WAIT here, %llu TIME_WAIT on "
                 "the client, %llu reset; upstream side %llu TIME_WAIT here, %llu TIME_WAIT on "
                 "the server, %llu reset\n",
                 signal_number == SIGINT ? "SIGINT" : "SIGTERM", u(s.requests),
                 u(s.downstream.connections_accepted), u(s.responses_relayed), u(s.unavailable),
                 u(s.bad_gateway), u(s.gateway_timeouts), u(s.too_large), u(s.cut_short),
                 u(s.client_gone), u(s.tunnels), u(s.upstream_connects), u(s.upstream_requests),
                 reuse, u(s.upstream_retries), u(s.failovers), u(s.upstream_stale), u(s.ejections),
                 u(s.upstream_keep_alive_expired), u(s.upstream_too_idle_to_risk),
                 u(s.downstream.closed_time_wait_here), u(s.downstream.closed_time_wait_peer),
                 u(s.downstream.closed_reset), u(s.upstream_closed_time_wait_here),
                 u(s.upstream_closed_time_wait_peer), u(s.upstream_closed_reset));
    for (const auto& idle : s.upstream_idle_timeouts) {
        std::fprintf(stderr,
                     "waitless proxy: upstream %s: idle timeout learned %s, advertised %s, %llu "
                     "idle closes\n",
                     idle.server.c_str(), milliseconds_text(idle.learned).c_str(),
                     milliseconds_text(idle.advertised).c_str(), u(idle.idle_closes));
    }
    return exit_ok;
}

}  // namespace

command add_proxy(CLI::App& parent) {
    auto* cli = parent.add_subcommand(
        "proxy", "A pooling reverse proxy: short client connections, long upstream ones");
    auto flags = std::make_shared<proxy_flags>();
    cli->add_option("--listen", flags->listen,
                    "Where to listen: IP:PORT, [IPv6]:PORT or unix:PATH; repeatable; port 0 "
                    "picks one (default 127.0.0.1:8080)");
    cli->add_option("--upstream", flags->upstream,
                    "Backend servers: HOST:PORT[=WEIGHT],...; repeatable (required)");
    cli->add_option("--workers", flags->workers,
                    "Worker threads, each with its own listener and pools (default: one per CPU)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
    cli->add_option("--balance", flags->balance,
                    "round_robin, least_request, p2c, hash:header:NAME or hash:client "
                    "(default round_robin)");
    cli->add_option("--close-policy", flags->close_policy,
                    "How client connections are closed: auto, graceful, peer_first, abortive "
                    "(default auto; see waitless serve)")
        ->check(CLI::IsMember({"auto", "graceful", "peer_first", "abortive"}));
    cli->add_option("--trusted-peers", flags->trusted_peers,
                    "Client networks auto may reset like loopback ones: CIDR,CIDR...");
    cli->add_option("--defer-accept", flags->defer_accept, defer_accept_help)
        ->check(CLI::Range(0u, 60u));
    cli->add_option("--source", flags->source,
                    "Local addresses for upstream connections, spread round robin: IP,IP...");
    auto* port_range =
        cli->add_option("--local-port-range", flags->local_port_range,
                        "Local ports for upstream connections: LOW-HIGH (IP_LOCAL_PORT_RANGE, "
                        "Linux 6.3+)");
    const auto duration = [&](const char* name, std::string& into, const char* what) {
        cli->add_option(name, into, what)->check(duration_check());
    };
    duration("--client-header-timeout", flags->client_header_timeout,
             "Time for a request head from its first byte (default 10s; 408 past it)");
    duration("--client-idle-timeout", flags->client_idle_timeout,
             "Close a client connection idle this long (default 60s)");
    duration("--client-io-timeout", flags->client_io_timeout,
             "How long a body read or write may wait for the client (default 60s)");
    duration("--connect-timeout", flags->connect_timeout,
             "Upstream connect timeout (default 5s; then another server)");
    duration("--upstream-header-timeout", flags->upstream_header_timeout,
             "From the request sent to the upstream response head (default 30s; 504 past it)");
    duration("--upstream-idle-timeout", flags->upstream_idle_timeout,
             "Pooled upstream connections idle this long are reset (default 60s)");
    duration("--keep-alive-margin", flags->keep_alive_margin,
             "Never reuse an upstream connection past its Keep-Alive: timeout, or the idle "
             "timeout learned from its closes, minus this (default 1s)");
    duration("--total-timeout", flags->total_timeout,
             "The whole upstream exchange, bodies included (default 5m)");
    duration("--drain-timeout", flags->drain_timeout,
             "On SIGTERM, how long requests in flight may take (default 30s)");
    duration("--upstream-max-lifetime", flags->upstream_max_lifetime,
             "Retire upstream connections this old (less up to 10% at random) with "
             "Connection: close (default: never)");
    duration("--ejection-time", flags->ejection_time,
             "How long a failing server is first ejected; doubles in a row (default 1s)");
    cli->add_option("--max-body-size", flags->max_body_size,
                    "Largest request body in bytes; larger ones get 413 (default 0: no limit)");
    cli->add_option("--max-connections", flags->max_connections,
                    "Open client connections, shared by the workers (default 10000)");
    cli->add_option("--upstream-connections", flags->upstream_connections,
                    "Pooled connections per upstream server and worker (default 64)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
    cli->add_option("--upstream-max-uses", flags->upstream_max_uses,
                    "Requests per upstream connection, the last with Connection: close "
                    "(default 0: no limit)");
    cli->add_option("--retry-budget", flags->retry_budget,
                    "Retries at most this share of the requests (default 0.2)")
        ->check(CLI::Range(0.0, 1.0));
    cli->add_option("--max-failures", flags->max_failures,
                    "Consecutive connect failures or 5xx that eject a server (default 3)")
        ->check(CLI::Range(1u, 1000u));
    cli->add_flag("--no-x-forwarded-for", flags->no_x_forwarded_for,
                  "Do not append the client's address to X-Forwarded-For");
    cli->add_flag("--no-x-forwarded-proto", flags->no_x_forwarded_proto,
                  "Do not set X-Forwarded-Proto");
    cli->add_flag("--no-forwarded", flags->no_forwarded, "Do not append a Forwarded element");
    return {cli, [flags, port_range] {
                flags->local_port_range_given = port_range->count() > 0;
                return run_proxy(*flags);
            }};
}

}  // namespace waitless::app
