#include "waitless/net/tcp_factory.hpp"

#include <atomic>

#include "waitless/net/error.hpp"

namespace waitless::net {

struct tcp_connection_factory::shared {
    explicit shared(tcp_factory_options o) : options(std::move(o)), spreader(options.connect) {}

    using counter = std::atomic<std::uint64_t>;
    static void bump(counter& c) { c.fetch_add(1, std::memory_order_relaxed); }

    const tcp_factory_options options;
    connector spreader;  // round-robin over the source addresses
    counter created{0};
    counter create_failures{0};
    counter connect_timeouts{0};
    counter stale_peer_closed{0};
    counter stale_reset{0};
    counter stale_unexpected_data{0};
    counter closed_time_wait_here{0};
    counter closed_time_wait_peer{0};
    counter closed_reset{0};
};

tcp_connection_factory::tcp_connection_factory(tcp_factory_options options)
    : shared_(std::make_shared<shared>(std::move(options))) {}

result<socket> tcp_connection_factory::create() {
    auto connection = shared_->spreader.connect(shared_->options.remote);
    if (connection) {
        shared::bump(shared_->created);
    } else {
        shared::bump(shared_->create_failures);
        if (connection.error() == errc::connect_timeout) shared::bump(shared_->connect_timeouts);
    }
    return connection;
}

bool tcp_connection_factory::validate(socket& connection) {
    if (!connection) return false;
    switch (check_liveness(connection.native_handle())) {
        case liveness::alive:
            return true;
        case liveness::peer_closed:
            shared::bump(shared_->stale_peer_closed);
            break;
        case liveness::reset:
            shared::bump(shared_->stale_reset);
            break;
        case liveness::unexpected_data:
            shared::bump(shared_->stale_unexpected_data);
            break;
    }
    return false;
}

void tcp_connection_factory::destroy(socket& connection) {
    if (!connection) return;
    auto outcome = close(connection, shared_->options.on_destroy);
    if (!outcome && outcome.error() == errc::data_would_be_lost) {
        outcome = close(connection, graceful_close{});
    }
    if (!outcome) return;  // the descriptor is closed either way; nothing left to count
    switch (*outcome) {
        case close_outcome::time_wait_here:
            shared::bump(shared_->closed_time_wait_here);
            break;
        case close_outcome::time_wait_peer:
            shared::bump(shared_->closed_time_wait_peer);
            break;
        case close_outcome::reset:
            shared::bump(shared_->closed_reset);
            break;
        case close_outcome::not_tcp:
            break;
    }
}

tcp_factory_stats tcp_connection_factory::stats() const {
    const auto get = [](const shared::counter& c) { return c.load(std::memory_order_relaxed); };
    const shared& s = *shared_;
    return {get(s.created),
            get(s.create_failures),
            get(s.connect_timeouts),
            get(s.stale_peer_closed),
            get(s.stale_reset),
            get(s.stale_unexpected_data),
            get(s.closed_time_wait_here),
            get(s.closed_time_wait_peer),
            get(s.closed_reset)};
}

const tcp_factory_options& tcp_connection_factory::options() const { return shared_->options; }

}  // namespace waitless::net
