// The two faces of the HTTP/1.1 client over one request path (client_core).
#include "waitless/http/client.hpp"

#include "client_core.hpp"
#include "waitless/io/fd_watch.hpp"

namespace waitless::http {

client::client(io::loop& l, client_options options)
    : core_(std::make_unique<detail::client_core>(std::move(options), &l)) {}
client::~client() = default;

io::task<result<client_response>> client::request(const client_request& r) {
    return core_->run(r, nullptr);
}

io::task<result<client_response>> client::request(const client_request& r, body_sink sink) {
    // The sink lives in this frame for as long as the request runs.
    co_return co_await core_->run(r, &sink);
}

io::task<result<client_stream>> client::stream(const client_request& r) { return core_->stream(r); }

void cancel_handle::cancel() {
    cancelled_ = true;
    if (watch_ != nullptr) watch_->cancel(std::make_error_code(std::errc::operation_canceled));
}

client_stream::client_stream() = default;
client_stream::client_stream(std::unique_ptr<detail::stream_state> state)
    : state_(std::move(state)) {}
client_stream::client_stream(client_stream&&) noexcept = default;
client_stream& client_stream::operator=(client_stream&& other) noexcept {
    if (this != &other) {
        if (state_) state_->core->recycle(std::move(state_));
        state_ = std::move(other.state_);
    }
    return *this;
}
client_stream::~client_stream() {
    if (state_) state_->core->recycle(std::move(state_));
}

const client_response& client_stream::head() const {
    WAITLESS_ASSERT(state_ != nullptr);
    return state_->head;
}

io::task<result<std::string_view>> client_stream::next() {
    if (state_ == nullptr) return io::task<result<std::string_view>>::ready(std::string_view{});
    return state_->next();
}

bool client_stream::ended() const { return state_ == nullptr || !state_->live(); }

result<upgraded> client_stream::take_upgraded() {
    if (state_ == nullptr) return std::unexpected(make_error_code(client_errc::protocol_switch));
    return state_->take_upgraded();
}

client_stats client::stats() const { return core_->stats(); }
std::optional<pool::stats> client::pool_stats(std::string_view origin) const {
    return core_->pool_stats(origin);
}
std::optional<idle_timeout_stats> client::idle_timeout(std::string_view origin) const {
    return core_->idle_timeout(origin);
}
void client::close_idle() { core_->close_idle(); }
const client_options& client::options() const { return core_->options(); }

blocking_client::blocking_client(client_options options)
    : core_(std::make_unique<detail::client_core>(std::move(options), nullptr)) {}
blocking_client::~blocking_client() = default;

result<client_response> blocking_client::request(const client_request& r) {
    return io::block_on(core_->run(r, nullptr));
}
result<client_response> blocking_client::request(const client_request& r, body_sink sink) {
    return io::block_on(core_->run(r, &sink));
}

client_stats blocking_client::stats() const { return core_->stats(); }
std::optional<pool::stats> blocking_client::pool_stats(std::string_view origin) const {
    return core_->pool_stats(origin);
}
std::optional<idle_timeout_stats> blocking_client::idle_timeout(std::string_view origin) const {
    return core_->idle_timeout(origin);
}
const client_options& blocking_client::options() const { return core_->options(); }

}  // namespace waitless::http
