// `waitless bench`: a load generator that also reports the TIME_WAIT it causes.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "command.hpp"
#include "waitless/core/cpus.hpp"
#include "waitless/loadgen/loadgen.hpp"
#include "waitless/loadgen/render.hpp"

namespace waitless::app {
namespace {

struct bench_flags {
    std::string url;
    std::string mode = "keepalive";
    std::size_t connections = 10;
    std::string duration;
    std::uint64_t requests = 0;
    double rate = 0;
    std::size_t workers = 0;  // 0: one per CPU, at most one per connection
    std::string method = "GET";
    std::vector<std::string> headers;
    std::string body;
    bool body_given = false;
    std::string path;
    std::string timeout = "5s";
    bool json = false;
    bool no_census = false;
};

template <class T>
T or_usage_error(result<T> r, const std::string& flag, const std::string& text) {
    if (!r) throw usage_error(flag + " '" + text + "': " + r.error().message());
    return std::move(*r);
}

loadgen::config make_config(const bench_flags& f) {
    loadgen::config c;
    c.to = or_usage_error(loadgen::parse_target(f.url), "URL", f.url);
    if (!f.path.empty()) {
        if (!c.to.is_unix()) throw usage_error("--path is for unix: targets (give it in the URL)");
        if (!f.path.starts_with('/'))
            throw usage_error("--path '" + f.path + "': must start with /");
        c.to.path = f.path;
    }
    c.how = or_usage_error(loadgen::parse_mode(f.mode), "--mode", f.mode);
    c.connections = f.connections;
    const auto cpus = core::usable_cpus();
    c.workers = std::min<std::size_t>(f.workers > 0 ? f.workers : cpus, c.connections);
    if (f.requests > 0) c.requests = f.requests;
    if (!f.duration.empty()) {
        c.duration = or_usage_error(loadgen::parse_duration(f.duration), "-d", f.duration);
    } else if (!c.requests) {
        c.duration = std::chrono::seconds(10);
    }
    if (f.rate > 0) c.rate = f.rate;
    c.method = f.method;
    for (const auto& h : f.headers)
        c.headers.push_back(or_usage_error(loadgen::parse_header(h), "-H", h));
    if (f.body_given) c.body = f.body;
    c.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        or_usage_error(loadgen::parse_duration(f.timeout), "--timeout", f.timeout));
    c.census = !f.no_census;
    if (auto ok = loadgen::validate(c); !ok) throw usage_error(ok.error().message());
    return c;
}

int run_bench(const bench_flags& flags) {
    const auto config = make_config(flags);
    ::signal(SIGPIPE, SIG_IGN);
    const bool live = !flags.json && ::isatty(STDERR_FILENO) == 1;
    loadgen::progress_fn on_progress;
    if (live) {
        on_progress = [](const loadgen::progress& p) {
            std::fprintf(stderr, "\r%s\x1b[K", loadgen::progress_line(p).c_str());
            std::fflush(stderr);
        };
    }
    auto r = loadgen::run(config, on_progress);
    if (live) std::fputs("\r\x1b[K", stderr);
    if (!r) throw usage_error("cannot run: " + r.error().message());
    const std::string out = flags.json ? loadgen::to_json(*r).dump(2) + "\n" : loadgen::to_text(*r);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return exit_ok;
}

}  // namespace

command add_bench(CLI::App& parent) {
    auto* cli = parent.add_subcommand(
        "bench",
        "Load generator that reports the TIME_WAIT it causes: requests/s, latency, connect() "
        "time, errors by kind (ephemeral ports exhausted apart), TIME_WAIT on each side");
    auto flags = std::make_shared<bench_flags>();
    cli->add_option("url", flags->url, "http://host[:port][/path] or unix:/path/to.sock")
        ->required();
    cli->add_option("--mode", flags->mode,
                    "short (a connection per request, the client closes), server-close "
                    "(Connection: close, the server closes), keepalive (default), pool "
                    "(through the pooled client)")
        ->check(CLI::IsMember({"short", "server-close", "keepalive", "pool"}));
    cli->add_option("-c,--connections", flags->connections,
                    "Virtual users, each with one request in flight (default 10)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    auto* duration = cli->add_option("-d,--duration", flags->duration,
                                     "How long: 10s, 500ms, 2m (default 10s unless -n is given)");
    auto* count = cli->add_option("-n,--requests", flags->requests,
                                  "How many requests in all (with -d: whichever ends first)")
                      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000'000'000}));
    (void)duration;
    (void)count;
    cli->add_option("--rate", flags->rate,
                    "Requests per second in all, sent at fixed times; latency counts from each "
                    "request's scheduled time (coordinated omission corrected)")
        ->check(CLI::Range(0.001, 1e9));
    cli->add_option("--workers", flags->workers,
                    "Threads, one event loop each (default: one per CPU, at most -c)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
    cli->add_option("-m,--method", flags->method, "Request method (default GET)")
        ->check(CLI::Validator(
            [](std::string& m) -> std::string {
                const bool token = !m.empty() && m.find_first_of(" \t\r\n:/") == std::string::npos;
                return token ? std::string() : "'" + m + "' is not a method";
            },
            ""));
    cli->add_option("-H,--header", flags->headers, "A request header 'Name: value' (repeatable)");
    auto* body =
        cli->add_option("--body", flags->body, "A request body (sent with Content-Length)");
    cli->add_option("--path", flags->path, "With a unix: target, the request path (default /)");
    cli->add_option("--timeout", flags->timeout, "Per request, connect included (default 5s)");
    cli->add_flag("--json", flags->json, "Print the result as JSON");
    cli->add_flag("--no-census", flags->no_census, "Skip the TIME_WAIT census before and after");
    return {cli, [flags, body] {
                flags->body_given = body->count() > 0;
                return run_bench(*flags);
            }};
}

}  // namespace waitless::app
