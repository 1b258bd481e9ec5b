// The load generator: N virtual users on W worker threads (one io::loop each) against one
// target, and what came of it: requests/s, latency and connect() time percentiles, errors by
// kind (an exhausted ephemeral port range apart from the rest), and the TIME_WAIT the run left
// on each side, from the socket census taken before and after.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "waitless/census/census.hpp"
#include "waitless/core/error.hpp"
#include "waitless/loadgen/histogram.hpp"
#include "waitless/loadgen/options.hpp"

namespace waitless::loadgen {

enum class error_kind : std::uint8_t {
    ports_exhausted,  // connect(): EADDRNOTAVAIL, no free ephemeral port towards the target
    refused,          // connect(): ECONNREFUSED (or a Unix listener's backlog full)
    connect_timeout,  // connect() did not complete in time
    connect_other,    // any other connect() failure
    reset,            // ECONNRESET or EPIPE while sending or reading
    timeout,          // the response did not come in time
    bad_response,     // unparsable, or the connection closed before it was complete
    other,
};
inline constexpr std::size_t error_kind_count = 8;
// "ephemeral ports exhausted", "refused", ... as the report prints them.
std::string_view describe(error_kind k);
// "ports_exhausted", "refused", ... as JSON keys.
std::string_view key(error_kind k);
// Which kind an error code is; during_connect: it came from connect().
error_kind classify(const std::error_code& ec, bool during_connect);

// TIME_WAIT the run left, towards or on the target's port, in this network namespace.
struct time_wait_figures {
    bool available = false;
    std::string unavailable_reason;
    // Created during the run: client side from the TIME_WAIT timers' ages, server side as the
    // growth on the listening port (the census keeps no ages per listener).
    std::uint64_t client_created = 0;
    std::uint64_t server_created = 0;
    std::uint64_t client_at_end = 0;
    std::uint64_t server_at_end = 0;
    // The busiest destination at the end (the highest port occupancy), if any.
    std::optional<census::destination> busiest;
};

struct report {
    config setup;
    double seconds = 0;             // from the first request to the last response
    std::uint64_t requests = 0;     // completed with a response (any status)
    std::uint64_t non_2xx_3xx = 0;  // of those, with status 1xx, 4xx or 5xx
    std::uint64_t connections = 0;  // connections opened (connect() succeeded)
    std::array<std::uint64_t, error_kind_count> errors{};
    std::uint64_t error_total() const;
    histogram latency;       // ns; from the scheduled send time with --rate
    histogram connect_time;  // ns; not measured in pool mode
    time_wait_figures time_wait;
    double requests_per_s() const {
        return seconds > 0 ? static_cast<double>(requests) / seconds : 0;
    }
};

// What the live progress line shows, every progress_interval (about once a second).
struct progress {
    double seconds = 0;
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    double requests_per_s = 0;                                        // over the last interval
    std::optional<std::uint64_t> time_wait_client, time_wait_server;  // created so far
};
using progress_fn = std::function<void(const progress&)>;

// Runs the load on worker threads and returns when every virtual user is done. A failure to
// start (no such host, no thread) is an error; failures of requests are counted in the report.
result<report> run(const config& c, const progress_fn& on_progress = {});

}  // namespace waitless::loadgen
