// Balancing, passive health and the retry budget: plain per-worker arithmetic, no locks.
#include "waitless/proxy/balancer.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "waitless/core/address.hpp"

namespace waitless::proxy {
namespace {

std::unexpected<std::error_code> malformed() {
    return std::unexpected(make_error_code(core::errc::malformed_input));
}

// splitmix64: a good 64-bit mix for hashing keys and for the p2c draws.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::uint64_t hash_text(std::string_view text) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a, then mixed
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    return mix(h);
}

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

}  // namespace

result<upstream_server> upstream_server::parse(std::string_view text) {
    upstream_server out;
    if (const auto eq = text.rfind('='); eq != std::string_view::npos) {
        const auto digits = text.substr(eq + 1);
        unsigned weight = 0;
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), weight);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
            weight < 1 || weight > 1000) {
            return malformed();
        }
        out.weight = weight;
        text = text.substr(0, eq);
    }
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return malformed();
    auto port = core::parse_port(text.substr(colon + 1));
    if (!port) return std::unexpected(port.error());
    out.port = *port;
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
        auto v6 = core::ip_address::parse(host);
        if (!v6 || v6->family != AF_INET6) return malformed();
    } else if (host.empty() || !std::all_of(host.begin(), host.end(), is_host_char)) {
        return malformed();  // a name or an IPv4 address (an IPv6 one needs its brackets)
    }
    out.host = std::string(host);
    return out;
}

std::string upstream_server::authority() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

result<std::vector<upstream_server>> parse_upstreams(std::string_view text) {
    std::vector<upstream_server> out;
    for (;;) {
        const auto comma = text.find(',');
        auto server = upstream_server::parse(text.substr(0, comma));
        if (!server) return std::unexpected(server.error());
        out.push_back(std::move(*server));
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

result<balance_policy> balance_policy::parse(std::string_view text) {
    balance_policy p;
    if (text == "round_robin") {
        p.kind = balance_kind::round_robin;
    } else if (text == "least_request") {
        p.kind = balance_kind::least_request;
    } else if (text == "p2c") {
        p.kind = balance_kind::p2c;
    } else if (text == "hash:client") {
        p.kind = balance_kind::hash_client;
    } else if (text.starts_with("hash:header:") && text.size() > 12) {
        p.kind = balance_kind::hash_header;
        p.header = std::string(text.substr(12));
    } else {
        return malformed();
    }
    return p;
}

balancer::balancer(std::vector<upstream_server> servers, balance_policy policy,
                   health_options health, std::uint64_t seed)
    : servers_(std::move(servers)),
      policy_(std::move(policy)),
      health_(health),
      states_(servers_.size()),
      random_(seed == 0 ? 0x853c49e6748fea9bull : seed) {}

bool balancer::ejected(std::size_t i, clock::time_point now) const {
    return states_[i].ejected_until > now;
}

bool balancer::usable(std::size_t i, clock::time_point now,
                      std::span<const std::size_t> exclude) const {
    return !ejected(i, now) && std::find(exclude.begin(), exclude.end(), i) == exclude.end();
}

std::uint64_t balancer::next_random() { return mix(random_++); }

bool balancer::load_below(std::size_t a, std::size_t b) const {
    return static_cast<std::uint64_t>(states_[a].outstanding) * servers_[b].weight <
           static_cast<std::uint64_t>(states_[b].outstanding) * servers_[a].weight;
}

template <class Among>
std::optional<std::size_t> balancer::pick_round_robin(clock::time_point now,
                                                      std::span<const std::size_t> exclude,
                                                      Among among) {
    // Smooth weighted round robin (as nginx): every usable server gains its weight, the one
    // with the most is chosen and pays the total. Weights 5,1,1 give a,a,b,a,c,a,a.
    long total = 0;
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        if (!usable(i, now, exclude) || !among(i)) continue;
        states_[i].current += servers_[i].weight;
        total += servers_[i].weight;
        if (!best || states_[i].current > states_[*best].current) best = i;
    }
    if (best) states_[*best].current -= total;
    return best;
}

namespace {
constexpr auto every_server = [](std::size_t) { return true; };
}  // namespace

std::optional<std::size_t> balancer::pick(clock::time_point now, std::string_view hash_key,
                                          std::span<const std::size_t> exclude) {
    switch (policy_.kind) {
        case balance_kind::round_robin:
            return pick_round_robin(now, exclude, every_server);
        case balance_kind::least_request: {
            // Fewest outstanding relative to weight; among equals, smooth weighted round robin
            // (as nginx's least_conn), so that a lightly loaded set still spreads.
            std::optional<std::size_t> best;
            for (std::size_t i = 0; i < servers_.size(); ++i) {
                if (!usable(i, now, exclude)) continue;
                if (!best || load_below(i, *best)) best = i;
            }
            if (!best) return std::nullopt;
            const std::size_t least = *best;
            return pick_round_robin(now, exclude, [&](std::size_t i) {
                return !load_below(i, least) && !load_below(least, i);
            });
        }
        case balance_kind::p2c: {
            // Two draws among the usable servers (counted, then the k-th found: no allocation
            // per request).
            std::size_t count = 0;
            for (std::size_t i = 0; i < servers_.size(); ++i) count += usable(i, now, exclude);
            if (count == 0) return std::nullopt;
            const auto draw = [&] {
                std::size_t k = next_random() % count;
                std::size_t i = 0;
                for (;; ++i) {
                    if (usable(i, now, exclude) && k-- == 0) break;
                }
                return i;
            };
            const auto a = draw();
            const auto b = draw();
            const auto load = [&](std::size_t i) {
                return static_cast<double>(states_[i].outstanding + 1) / servers_[i].weight;
            };
            return load(b) < load(a) ? b : a;
        }
        case balance_kind::hash_header:
        case balance_kind::hash_client:
            if (hash_key.empty()) return pick_round_robin(now, exclude, every_server);
            return pick_hash(hash_key, now, exclude);
    }
    return std::nullopt;
}

std::optional<std::size_t> balancer::pick_hash(std::string_view key, clock::time_point now,
                                               std::span<const std::size_t> exclude) {
    // Rendezvous (highest random weight) hashing: each key ranks the servers the same way on
    // every worker and process; removing a server moves only its own keys. Weighted with the
    // logarithm method, so a server of weight 2 gets twice the keys.
    const std::uint64_t h = hash_text(key);
    std::optional<std::size_t> best;
    double best_score = 0;
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        if (!usable(i, now, exclude)) continue;
        const std::uint64_t r = mix(h ^ hash_text(servers_[i].authority()));
        // A uniform draw in (0, 1): never 0, so the logarithm is finite.
        const double u = (static_cast<double>(r >> 11) + 1.0) / 9007199254740993.0;
        const double score = -static_cast<double>(servers_[i].weight) / std::log(u);
        if (!best || score > best_score) {
            best = i;
            best_score = score;
        }
    }
    return best;
}

void balancer::started(std::size_t server) { ++states_[server].outstanding; }

void balancer::finished(std::size_t server) {
    if (states_[server].outstanding > 0) --states_[server].outstanding;
}

void balancer::report_success(std::size_t server) {
    auto& s = states_[server];
    s.failures = 0;
    s.streak = 0;  // it served: the next ejection starts short again
}

void balancer::report_failure(std::size_t server, clock::time_point now) {
    auto& s = states_[server];
    if (s.ejected_until > now) return;  // already out: its in-flight failures do not count twice
    if (++s.failures < health_.max_failures) return;
    s.failures = 0;
    const auto shift = std::min(s.streak, 16u);
    ++s.streak;
    const auto length = std::min<std::chrono::milliseconds>(health_.base_ejection * (1u << shift),
                                                            health_.max_ejection);
    s.ejected_until = now + length;
    ++ejections_;
}

std::chrono::milliseconds balancer::retry_after(clock::time_point now) const {
    auto soonest = clock::time_point::max();
    for (const auto& s : states_) soonest = std::min(soonest, s.ejected_until);
    if (soonest <= now || soonest == clock::time_point::max()) return std::chrono::milliseconds(0);
    return std::chrono::ceil<std::chrono::milliseconds>(soonest - now);
}

retry_budget::retry_budget(double ratio, std::chrono::milliseconds window)
    : ratio_(ratio), window_(window) {}

void retry_budget::roll(clock::time_point now) {
    const auto half = window_ / 2;
    if (bucket_start_ == clock::time_point{}) bucket_start_ = now;
    if (now - bucket_start_ < half) return;
    if (now - bucket_start_ < 2 * half) {
        requests_[1] = requests_[0];
        retries_[1] = retries_[0];
    } else {
        requests_[1] = retries_[1] = 0;  // a whole window went by quietly
    }
    requests_[0] = retries_[0] = 0;
    bucket_start_ = now;
}

void retry_budget::on_request(clock::time_point now) {
    roll(now);
    ++requests_[0];
}

bool retry_budget::try_spend(clock::time_point now) {
    roll(now);
    const double requests = static_cast<double>(requests_[0] + requests_[1]);
    const double retries = static_cast<double>(retries_[0] + retries_[1]);
    if (retries + 1 > ratio_ * requests) return false;
    ++retries_[0];
    return true;
}

}  // namespace waitless::proxy
