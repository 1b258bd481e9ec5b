// The two faces of the HTTP/1.1 client over one request path (client_core).
#include "waitless/http/client.hpp"

#include "client_core.hpp"

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

client_stats client::stats() const { return core_->stats(); }
std::optional<pool::stats> client::pool_stats(std::string_view origin) const {
    return core_->pool_stats(origin);
}
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
const client_options& blocking_client::options() const { return core_->options(); }

}  // namespace waitless::http
