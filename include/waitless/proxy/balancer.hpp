// Choosing a backend server for each request, per worker (no locks): smooth weighted round
// robin, least outstanding requests, power of two choices, or consistent hashing on a header or
// the client address; passive health (consecutive connect failures or 5xx eject a server for a
// time that doubles with repeated ejections); and a retry budget.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "waitless/core/error.hpp"

namespace waitless::proxy {

using clock = std::chrono::steady_clock;

// One backend server: "HOST:PORT" with an optional weight ("10.0.0.1:80=3" on the command line).
struct upstream_server {
    std::string host;
    std::uint16_t port = 0;
    unsigned weight = 1;  // 1..1000

    // "HOST:PORT", "[IPv6]:PORT", optionally followed by "=WEIGHT".
    static result<upstream_server> parse(std::string_view text);
    std::string authority() const;  // "host:port", "[v6]:port"
};
// A comma-separated list of servers.
result<std::vector<upstream_server>> parse_upstreams(std::string_view text);

enum class balance_kind { round_robin, least_request, p2c, hash_header, hash_client };

struct balance_policy {
    balance_kind kind = balance_kind::round_robin;
    std::string header;  // for hash_header

    // "round_robin", "least_request", "p2c", "hash:header:NAME", "hash:client".
    static result<balance_policy> parse(std::string_view text);
};

struct health_options {
    unsigned max_failures = 3;  // consecutive connect failures or 5xx responses that eject
    std::chrono::milliseconds base_ejection{1000};  // doubles with each ejection in a row
    std::chrono::milliseconds max_ejection{30000};
};

class balancer {
  public:
    balancer(std::vector<upstream_server> servers, balance_policy policy,
             health_options health = {}, std::uint64_t seed = 0);

    // A usable server for a request, not one of `exclude` (servers already tried for it);
    // nullopt when every server is ejected or excluded. hash_key: the header's value or the
    // client's address for the hash kinds (ignored otherwise; an empty key falls back to
    // round robin).
    std::optional<std::size_t> pick(clock::time_point now, std::string_view hash_key = {},
                                    std::span<const std::size_t> exclude = {});

    // Outstanding requests, for least_request and p2c.
    void started(std::size_t server);
    void finished(std::size_t server);

    // Passive health. A success resets the server's failure count and its ejection streak (a
    // server that fails again right after it comes back is ejected twice as long).
    void report_success(std::size_t server);
    void report_failure(std::size_t server, clock::time_point now);  // connect failure or 5xx

    // With no usable server: how long until the first ejected one comes back (Retry-After).
    std::chrono::milliseconds retry_after(clock::time_point now) const;

    const std::vector<upstream_server>& servers() const { return servers_; }
    bool ejected(std::size_t server, clock::time_point now) const;
    std::uint64_t ejections() const { return ejections_; }

  private:
    struct state {
        long current = 0;  // smooth weighted round robin
        unsigned outstanding = 0;
        unsigned failures = 0;
        unsigned streak = 0;  // ejections in a row
        clock::time_point ejected_until{};
    };
    bool usable(std::size_t i, clock::time_point now, std::span<const std::size_t> exclude) const;
    // Smooth weighted round robin over the usable servers that `among` accepts.
    template <class Among>
    std::optional<std::size_t> pick_round_robin(clock::time_point now,
                                                std::span<const std::size_t> exclude, Among among);
    // Server a has fewer outstanding requests than b, relative to their weights.
    bool load_below(std::size_t a, std::size_t b) const;
    std::optional<std::size_t> pick_hash(std::string_view key, clock::time_point now,
                                         std::span<const std::size_t> exclude);
    std::uint64_t next_random();

    std::vector<upstream_server> servers_;
    balance_policy policy_;
    health_options health_;
    std::vector<state> states_;
    std::uint64_t random_;
    std::uint64_t ejections_ = 0;
};

// At most `ratio` of the requests over a sliding window may be retries (20% over 10 s by
// default), so retries cannot multiply the load of a failing backend.
class retry_budget {
  public:
    explicit retry_budget(double ratio = 0.2,
                          std::chrono::milliseconds window = std::chrono::seconds(10));
    void on_request(clock::time_point now);
    // True (and counted) when a retry fits in the budget now.
    bool try_spend(clock::time_point now);

  private:
    void roll(clock::time_point now);
    double ratio_;
    std::chrono::milliseconds window_;
    // Two half-window buckets: the current one and the one before.
    clock::time_point bucket_start_{};
    std::uint64_t requests_[2]{}, retries_[2]{};
};

}  // namespace waitless::proxy
