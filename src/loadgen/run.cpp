// A load run: resolve the target, take the census, start the workers, report progress, sum up.
#include <netdb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "waitless/loadgen/error.hpp"
#include "waitless/loadgen/loadgen.hpp"
#include "worker.hpp"

namespace waitless::loadgen {
namespace {

using detail::clock;

result<net::endpoint> resolve(const target& t) {
    if (auto ip = core::ip_address::parse(t.host)) return net::endpoint{*ip, t.port};
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(t.host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
        return std::unexpected(make_error_code(errc::resolve_failed));
    }
    sockaddr_storage storage{};
    std::memcpy(&storage, found->ai_addr, found->ai_addrlen);
    ::freeaddrinfo(found);
    auto remote = net::to_endpoint(storage);
    if (!remote) return remote;
    remote->port = t.port;
    return remote;
}

// The census limited to the target's port: client-side TIME_WAIT towards it and server-side
// TIME_WAIT on it when the server listens in this namespace.
result<census::snapshot> census_of(const config& c, double window_s) {
    census::options opts;
    opts.port = c.to.port;
    opts.rate_window_s = std::clamp(window_s, 0.001, 60.0);
    return census::take_snapshot(opts);
}

// TIME_WAIT created towards the target within the last window_s seconds (by timer ages).
std::uint64_t client_created(const census::snapshot& s, double window_s) {
    const double window = std::clamp(window_s, 0.001, 60.0);
    double created = 0;
    for (const auto& d : s.destinations) created += d.closes_per_s * window;
    return static_cast<std::uint64_t>(std::llround(created));
}

std::uint64_t grew(std::uint64_t after, std::uint64_t before) {
    return after > before ? after - before : 0;
}

template <class T>
std::optional<T> share(std::optional<T> total, std::size_t index, std::size_t parts) {
    if (!total) return std::nullopt;
    return *total / parts + (index < *total % parts ? 1 : 0);
}

}  // namespace

result<report> run(const config& c, const progress_fn& on_progress) {
    if (auto ok = validate(c); !ok) return std::unexpected(ok.error());
    detail::plan p;
    p.setup = c;
    p.request = format_request(c);
    p.head_request = c.method == "HEAD";
    p.connect.timeout = c.timeout;
    p.connect.nodelay = true;
    p.connect.non_blocking = true;
    if (!c.to.is_unix() && !c.to.host.empty()) {
        auto remote = resolve(c.to);
        if (!remote) return std::unexpected(remote.error());
        p.remote = *remote;
    }

    report r;
    r.setup = c;
    const bool tcp = !c.to.is_unix();
    std::optional<census::snapshot> before;
    // TIME_WAIT younger than the time since this census began was created by the run.
    const auto census_start = clock::now();
    const auto since_census = [&] {
        return std::chrono::duration<double>(clock::now() - census_start).count() + 0.01;
    };
    if (c.census && tcp) {
        auto s = census_of(c, 60);
        if (s) {
            before = std::move(*s);
        } else {
            r.time_wait.unavailable_reason = s.error().message();
        }
    } else if (!tcp) {
        r.time_wait.unavailable_reason = "a Unix socket target has no TCP TIME_WAIT";
    } else {
        r.time_wait.unavailable_reason = "census turned off";
    }

    const std::size_t workers = std::min(c.workers, c.connections);
    p.start = clock::now();
    if (c.duration) p.end = p.start + *c.duration;
    std::vector<std::unique_ptr<detail::worker>> pool;
    for (std::size_t i = 0; i < workers; ++i) {
        const std::size_t users = c.connections / workers + (i < c.connections % workers ? 1 : 0);
        const double rate = c.rate ? *c.rate / static_cast<double>(workers) : 0.0;
        pool.push_back(
            std::make_unique<detail::worker>(p, users, share(c.requests, i, workers), rate));
    }
    std::atomic<std::size_t> running{workers};
    std::vector<std::thread> threads;
    threads.reserve(workers);
    for (auto& w : pool) {
        threads.emplace_back([&w, &running] {
            w->run();
            running.fetch_sub(1, std::memory_order_release);
        });
    }

    // Progress every progress_interval (a second by default), from this thread, while the
    // workers run.
    const auto interval = std::max(c.progress_interval, std::chrono::milliseconds(1));
    auto next_report = p.start + interval;
    std::uint64_t last_requests = 0;
    auto last_time = p.start;
    while (running.load(std::memory_order_acquire) > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const auto now = clock::now();
        if (!on_progress || now < next_report) continue;
        // Ticks missed while a census took long are skipped, not bunched up.
        while (next_report <= now) next_report += interval;
        progress pr;
        pr.seconds = std::chrono::duration<double>(now - p.start).count();
        for (const auto& w : pool) {
            pr.requests += w->requests.get();
            pr.errors += w->errors.get();
        }
        const double dt = std::chrono::duration<double>(now - last_time).count();
        pr.requests_per_s = dt > 0 ? static_cast<double>(pr.requests - last_requests) / dt : 0;
        last_requests = pr.requests;
        last_time = now;
        if (before) {
            const double window = since_census();
            if (auto s = census_of(c, window)) {
                pr.time_wait_client = client_created(*s, window);
                pr.time_wait_server = grew(s->time_wait_server, before->time_wait_server);
            }
        }
        on_progress(pr);
    }
    for (auto& t : threads) t.join();

    clock::time_point finished = p.start;
    for (const auto& w : pool) {
        finished = std::max(finished, w->finished);
        r.requests += w->requests.get();
        r.connections += w->connections.get();
        r.non_2xx_3xx += w->non_2xx_3xx;
        r.latency.merge(w->latency);
        r.connect_time.merge(w->connect_time);
        for (std::size_t k = 0; k < error_kind_count; ++k) r.errors[k] += w->error_counts[k];
    }
    r.seconds = std::chrono::duration<double>(finished - p.start).count();

    if (before) {
        const double window = since_census();
        auto after = census_of(c, window);
        if (after) {
            auto& tw = r.time_wait;
            tw.available = true;
            tw.client_created = window <= 60
                                    ? client_created(*after, window)
                                    : grew(after->time_wait_client, before->time_wait_client);
            tw.server_created = grew(after->time_wait_server, before->time_wait_server);
            tw.client_at_end = after->time_wait_client;
            tw.server_at_end = after->time_wait_server;
            if (!after->destinations.empty()) tw.busiest = after->destinations.front();
        } else {
            r.time_wait.unavailable_reason = after.error().message();
        }
    }
    return r;
}

}  // namespace waitless::loadgen
