#include "worker.hpp"

#include <cerrno>
#include <vector>

#include "waitless/http/client_error.hpp"
#include "waitless/http/error.hpp"
#include "waitless/loadgen/error.hpp"
#include "waitless/net/error.hpp"

namespace waitless::loadgen {

std::string_view describe(error_kind k) {
    switch (k) {
        case error_kind::ports_exhausted:
            return "ephemeral ports exhausted (EADDRNOTAVAIL)";
        case error_kind::refused:
            return "connection refused";
        case error_kind::connect_timeout:
            return "connect timed out";
        case error_kind::connect_other:
            return "connect failed (other)";
        case error_kind::reset:
            return "connection reset";
        case error_kind::timeout:
            return "response timed out";
        case error_kind::bad_response:
            return "bad or incomplete response";
        case error_kind::other:
            return "other";
    }
    return "?";
}

std::string_view key(error_kind k) {
    switch (k) {
        case error_kind::ports_exhausted:
            return "ports_exhausted";
        case error_kind::refused:
            return "refused";
        case error_kind::connect_timeout:
            return "connect_timeout";
        case error_kind::connect_other:
            return "connect_other";
        case error_kind::reset:
            return "reset";
        case error_kind::timeout:
            return "timeout";
        case error_kind::bad_response:
            return "bad_response";
        case error_kind::other:
            return "other";
    }
    return "?";
}

error_kind classify(const std::error_code& ec, bool during_connect) {
    if (ec == std::errc::address_not_available) return error_kind::ports_exhausted;
    if (ec == std::errc::connection_refused) return error_kind::refused;
    if (ec == net::errc::connect_timeout) return error_kind::connect_timeout;
    if (during_connect) {
        // A Unix listener whose backlog is full refuses a non-blocking connect with EAGAIN.
        if (ec == std::errc::resource_unavailable_try_again) return error_kind::refused;
        if (ec == std::errc::timed_out) return error_kind::connect_timeout;
        return error_kind::connect_other;
    }
    if (ec == std::errc::connection_reset || ec == std::errc::broken_pipe ||
        ec == net::errc::stale) {
        return error_kind::reset;
    }
    if (ec == std::errc::timed_out || ec == http::client_errc::request_timeout ||
        ec == http::client_errc::response_header_timeout) {
        return error_kind::timeout;
    }
    if (ec.category() == http::category() || ec == errc::bad_response ||
        ec == http::client_errc::peer_closed_before_response) {
        return error_kind::bad_response;
    }
    return error_kind::other;
}

std::uint64_t report::error_total() const {
    std::uint64_t total = 0;
    for (auto n : errors) total += n;
    return total;
}

}  // namespace waitless::loadgen

namespace waitless::loadgen::detail {

worker::worker(const plan& p, std::size_t users, std::optional<std::uint64_t> request_count,
               double rate)
    : plan_(p), users_(users), requests_left_(request_count) {
    if (rate > 0) interval_ = std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 / rate));
}

std::optional<clock::time_point> worker::next_slot() {
    if (requests_left_) {
        if (*requests_left_ == 0) return std::nullopt;
    }
    clock::time_point at;
    if (interval_.count() > 0) {
        at = plan_.start + interval_ * static_cast<std::int64_t>(sequence_);
    } else {
        at = clock::now();
    }
    if (plan_.end && at >= *plan_.end) return std::nullopt;
    ++sequence_;
    if (requests_left_) --*requests_left_;
    return at;
}

void worker::count_error(const std::error_code& ec, bool during_connect) {
    ++error_counts[static_cast<std::size_t>(classify(ec, during_connect))];
    errors.add();
}

void worker::count_response(clock::time_point started, int status) {
    const auto took = clock::now() - started;
    latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(took.count(), 0)));
    if (status < 200 || status >= 400) ++non_2xx_3xx;
    requests.add();
}

void worker::count_connect(clock::time_point started) {
    const auto took = clock::now() - started;
    connect_time.record(static_cast<std::uint64_t>(std::max<std::int64_t>(took.count(), 0)));
    connections.add();
}

void worker::user_done() {
    if (--users_left_ == 0) loop_->stop();
}

void worker::run() {
    io::loop l;
    loop_ = &l;
    users_left_ = users_;
    const auto& c = plan_.setup;
    std::unique_ptr<http::client> client;
    std::vector<http::header_field> fields;
    http::client_request request;
    if (c.how == mode::pool) {
        http::client_options options;
        options.max_connections_per_origin = users_;
        options.connect = plan_.connect;
        options.request_timeout = c.timeout;
        options.response_header_timeout = c.timeout;
        options.acquire_timeout = c.timeout;
        client = std::make_unique<http::client>(l, options);
        for (const auto& [name, value] : c.headers) fields.push_back({name, value});
        request.method = c.method;
        request.url = c.to.url;
        request.headers = fields;
        if (c.body) request.body = *c.body;
    }
    for (std::size_t i = 0; i < users_; ++i) {
        l.start(client ? pool_user(*this, *client, request) : raw_user(*this));
    }
    if (users_ > 0) l.run();
    finished = clock::now();
    if (client) {
        if (auto s = client->pool_stats(c.to.authority())) connections.set(s->created);
        client.reset();
    }
    loop_ = nullptr;
}

}  // namespace waitless::loadgen::detail
