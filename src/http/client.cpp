// The two faces of the HTTP/1.1 client over one request path (client_core).
#include "waitless/http/client.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>

#include "client_core.hpp"

namespace waitless::http {

client::client(client_options options)
    : core_(std::make_unique<detail::client_core>(std::move(options), false)) {}
client::~client() = default;

asio::awaitable<result<client_response>> client::request(const client_request& r) {
    return core_->run(r, nullptr, false);
}

asio::awaitable<result<client_response>> client::request(const client_request& r, body_sink sink) {
    // The sink lives in this frame for as long as the request runs.
    co_return co_await core_->run(r, &sink, false);
}

client_stats client::stats() const { return core_->stats(); }
std::optional<pool::stats> client::pool_stats(std::string_view origin) const {
    return core_->pool_stats(origin);
}
const client_options& client::options() const { return core_->options(); }

namespace {

// The calling thread's event loop. Connections leave it after every request (unbind), so
// nothing is registered with it when the thread ends.
asio::io_context& thread_loop() {
    thread_local asio::io_context loop(1);
    return loop;
}

result<client_response> run_blocking(detail::client_core& core, const client_request& r,
                                     const body_sink* sink) {
    auto& loop = thread_loop();
    std::optional<result<client_response>> out;
    std::exception_ptr thrown;
    asio::co_spawn(loop, core.run(r, sink, true),
                   [&](std::exception_ptr e, result<client_response> v) {
                       thrown = e;
                       out.emplace(std::move(v));
                   });
    loop.restart();
    loop.run();
    if (thrown) std::rethrow_exception(thrown);  // only a bug (or bad_alloc) gets here
    return std::move(*out);
}

}  // namespace

blocking_client::blocking_client(client_options options)
    : core_(std::make_unique<detail::client_core>(std::move(options), true)) {}
blocking_client::~blocking_client() = default;

result<client_response> blocking_client::request(const client_request& r) {
    return run_blocking(*core_, r, nullptr);
}
result<client_response> blocking_client::request(const client_request& r, body_sink sink) {
    return run_blocking(*core_, r, &sink);
}

client_stats blocking_client::stats() const { return core_->stats(); }
std::optional<pool::stats> blocking_client::pool_stats(std::string_view origin) const {
    return core_->pool_stats(origin);
}
const client_options& blocking_client::options() const { return core_->options(); }

}  // namespace waitless::http
