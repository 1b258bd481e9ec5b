// One worker thread of a load run: its io::loop, its virtual users, its request schedule and
// its figures (plain while it runs, except the few counters the progress line reads).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/loadgen/histogram.hpp"
#include "waitless/loadgen/loadgen.hpp"
#include "waitless/net/endpoint.hpp"
#include "waitless/net/options.hpp"

namespace waitless::loadgen::detail {

using clock = std::chrono::steady_clock;

// What every worker reads and none writes.
struct plan {
    config setup;
    std::string request;   // formatted once: request line, fields, body
    net::endpoint remote;  // TCP targets
    net::connect_options connect;
    bool head_request = false;
    clock::time_point start;
    std::optional<clock::time_point> end;
};

// Written by one thread, read by another: no locked instruction on the request path.
struct shared_count {
    std::atomic<std::uint64_t> value{0};
    void add() {
        value.store(value.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    void set(std::uint64_t v) { value.store(v, std::memory_order_relaxed); }
    std::uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

class worker {
  public:
    // requests: this worker's share of -n (none: until the end time); rate: its share of
    // --rate (0: as fast as the users go).
    worker(const plan& p, std::size_t users, std::optional<std::uint64_t> request_count,
           double rate);

    // On the worker's own thread: makes the loop, runs the users, returns when they are done.
    void run();

    const plan& setup() const { return plan_; }
    io::loop& loop() { return *loop_; }

    // The scheduled time of the next request, or none when the run is over for this worker.
    std::optional<clock::time_point> next_slot();
    void count_error(const std::error_code& ec, bool during_connect);
    void count_response(clock::time_point started, int status);
    void count_connect(clock::time_point started);

    // Read by the progress line while the worker runs.
    shared_count requests, errors, connections;

    // Complete once run() returned.
    histogram latency, connect_time;
    std::array<std::uint64_t, error_kind_count> error_counts{};
    std::uint64_t non_2xx_3xx = 0;
    clock::time_point finished{};

  private:
    void user_done();
    friend io::task<void> raw_user(worker& w);
    friend io::task<void> pool_user(worker& w, http::client& client, const http::client_request& r);

    const plan& plan_;
    std::size_t users_;
    std::size_t users_left_ = 0;
    std::optional<std::uint64_t> requests_left_;
    std::chrono::nanoseconds interval_{0};  // between scheduled requests (with --rate)
    std::uint64_t sequence_ = 0;
    io::loop* loop_ = nullptr;
};

// A virtual user on raw non-blocking sockets (short, server-close and keepalive modes).
io::task<void> raw_user(worker& w);
// A virtual user through the worker's pooled client (pool mode).
io::task<void> pool_user(worker& w, http::client& client, const http::client_request& r);

}  // namespace waitless::loadgen::detail
