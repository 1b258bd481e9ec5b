// `waitless serve`: a fast, configurable HTTP/1.1 server for demos, tests and backends.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command.hpp"
#include "duration.hpp"
#include "listening.hpp"
#include "waitless/http/server.hpp"
#include "waitless/io/loop.hpp"

namespace waitless::app {
namespace {

struct serve_flags {
    std::vector<std::string> listen;
    std::size_t workers = 0;
    std::size_t body_size = 12;
    int status = 200;
    std::size_t delay_ms = 0;
    bool echo = false;
    std::string idle_timeout = "5s";
    std::string header_timeout = "10s";
    std::size_t max_requests = 1000;
    std::size_t max_connections = 10000;
    std::string close_policy = "auto";
    std::string trusted_peers;
    unsigned defer_accept = 1;
    std::size_t peer_close_wait_ms = 2000;
};

// What every response of this server says, formatted once.
struct canned {
    http::prepared_response ok;
    http::prepared_response health;
    http::prepared_response not_allowed;  // for CONNECT
    int status;
    std::chrono::milliseconds delay;
    bool echo;
};

std::string body_of_size(std::size_t size) {
    static constexpr std::string_view line = "hello world\n";
    std::string body;
    body.reserve(size);
    while (body.size() < size)
        body.append(line.substr(0, std::min(line.size(), size - body.size())));
    return body;
}

io::task<void> echo(http::exchange& ex, int status) {
    const auto& request = ex.request();
    std::optional<std::uint64_t> length;
    if (request.framing == http::body_framing::content_length) length = request.content_length;
    if (request.framing == http::body_framing::none) length = 0;
    static constexpr http::header_field fields[] = {{"Server", "waitless"},
                                                    {"Content-Type", "application/octet-stream"}};
    if (!ex.start(status, fields, length)) co_return;
    for (;;) {
        auto piece = co_await ex.read_body();
        if (!piece) co_return;  // the server closes; the response cannot be completed
        if (piece->empty()) break;
        if (!co_await ex.write(*piece)) co_return;
    }
    ex.end();
}

http::handler make_handler(std::shared_ptr<const canned> c) {
    return [c](http::exchange& ex) -> io::task<void> {
        // A 2xx would tell the client its tunnel is open (RFC 9110 9.3.6); this is no proxy.
        if (ex.request().method == "CONNECT") {
            (void)ex.send(c->not_allowed);
            co_return;
        }
        if (ex.request().target == "/health") {
            (void)ex.send(c->health);
            co_return;
        }
        if (c->delay.count() > 0) {
            // Ended early when the client goes away or shutdown cuts the connection.
            io::alarm delay(*io::loop::current());
            ex.on_cancel([&delay] { delay.cancel(); });
            if (!co_await delay.wait_for(c->delay)) co_return;
        }
        if (c->echo) {
            co_await echo(ex, c->status);
            co_return;
        }
        (void)ex.send(c->ok);
    };
}

http::server_options server_options(const serve_flags& flags) {
    http::server_options options;
    apply_listening(flags.listen, flags.close_policy, flags.trusted_peers, flags.defer_accept,
                    options);
    options.workers = flags.workers;
    options.idle_timeout = *parse_duration(flags.idle_timeout);
    options.header_timeout = *parse_duration(flags.header_timeout);
    options.max_requests = flags.max_requests;
    options.max_connections = flags.max_connections;
    options.peer_close_wait = std::chrono::milliseconds(flags.peer_close_wait_ms);
    return options;
}

int run_serve(const serve_flags& flags) {
    auto options = server_options(flags);
    static constexpr http::header_field text_fields[] = {{"Server", "waitless"},
                                                         {"Content-Type", "text/plain"}};
    // serve answers every method but CONNECT (see make_handler) with the configured response.
    static constexpr http::header_field not_allowed_fields[] = {
        {"Server", "waitless"},
        {"Content-Type", "text/plain"},
        {"Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"}};
    auto c = std::make_shared<const canned>(canned{
        http::prepared_response(flags.status, text_fields, body_of_size(flags.body_size)),
        http::prepared_response(200, text_fields, "ok\n"),
        http::prepared_response(405, not_allowed_fields, "CONNECT is not allowed here\n"),
        flags.status,
        std::chrono::milliseconds(flags.delay_ms),
        flags.echo,
    });
    // The workers inherit this mask, so only the sigwait() below sees the signals.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    http::server server(std::move(options), make_handler(c));
    if (auto started = server.start(); !started) {
        throw usage_error("cannot listen: " + started.error().message());
    }
    for (const auto& address : server.addresses()) std::printf("listening: %s\n", address.c_str());
    std::fflush(stdout);

    int signal_number = 0;
    ::sigwait(&signals, &signal_number);
    server.stop();
    server.wait();
    const auto s = server.stats();
    std::fprintf(stderr,
                 "waitless serve: stopped (%s): %llu connections (%llu refused), %llu requests, "
                 "%llu rejected; closes: %llu TIME_WAIT here, %llu TIME_WAIT on the client, "
                 "%llu reset\n",
                 signal_number == SIGINT ? "SIGINT" : "SIGTERM",
                 static_cast<unsigned long long>(s.connections_accepted),
                 static_cast<unsigned long long>(s.connections_refused),
                 static_cast<unsigned long long>(s.requests),
                 static_cast<unsigned long long>(s.rejected_requests),
                 static_cast<unsigned long long>(s.closed_time_wait_here),
                 static_cast<unsigned long long>(s.closed_time_wait_peer),
                 static_cast<unsigned long long>(s.closed_reset));
    return exit_ok;
}

}  // namespace

command add_serve(CLI::App& parent) {
    auto* cli = parent.add_subcommand(
        "serve", "A fast HTTP/1.1 server (keep-alive, pipelining, no TIME_WAIT on the server)");
    auto flags = std::make_shared<serve_flags>();
    cli->add_option("--listen", flags->listen,
                    "Where to listen: IP:PORT, [IPv6]:PORT or unix:PATH; repeatable; port 0 "
                    "picks one (default 127.0.0.1:8080)");
    cli->add_option("--workers", flags->workers,
                    "Worker threads, each with its own listener (default: one per CPU)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
    cli->add_option("--body-size", flags->body_size, "Bytes of the response body (default 12)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{64} << 20));
    cli->add_option("--status", flags->status, "Status code of the responses (default 200)")
        ->check(CLI::Range(200, 599));
    cli->add_option("--delay-ms", flags->delay_ms, "Wait this long before each response")
        ->check(CLI::Range(std::size_t{0}, std::size_t{3'600'000}));
    cli->add_flag("--echo", flags->echo, "Answer with the request body, streamed");
    cli->add_option("--idle-timeout", flags->idle_timeout,
                    "Close a keep-alive connection idle this long (default 5s)")
        ->check(duration_check());
    cli->add_option("--header-timeout", flags->header_timeout,
                    "Time a client has to send a request head (default 10s)")
        ->check(duration_check());
    cli->add_option("--max-requests", flags->max_requests,
                    "Requests per connection, then Connection: close (default 1000; 0: no "
                    "limit)");
    cli->add_option("--max-connections", flags->max_connections,
                    "Open connections, shared by the workers (default 10000; 0: no limit)");
    cli->add_option("--close-policy", flags->close_policy,
                    "How the server closes: auto (RST once acknowledged for loopback, Unix and "
                    "trusted peers; graceful for others), graceful (FIN, TIME_WAIT here), "
                    "peer_first (wait for the client's FIN, then RST), abortive (RST) (default "
                    "auto)")
        ->check(CLI::IsMember({"auto", "graceful", "peer_first", "abortive"}));
    cli->add_option("--trusted-peers", flags->trusted_peers,
                    "Networks whose clients auto may reset like loopback ones: CIDR,CIDR...");
    cli->add_option("--defer-accept", flags->defer_accept, defer_accept_help)
        ->check(CLI::Range(0u, 60u));
    cli->add_option("--peer-close-wait-ms", flags->peer_close_wait_ms,
                    "How long peer_first waits for the client's FIN (default 2000)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{600'000}));
    return {cli, [flags] { return run_serve(*flags); }};
}

}  // namespace waitless::app
