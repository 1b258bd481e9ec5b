// The handler's face of a connection: each call forwards to the connection running it.
#include "http/server_connection.hpp"
#include "waitless/http/exchange.hpp"

namespace waitless::http {

const message_head& exchange::request() const { return owner_->request(); }

const std::optional<net::endpoint>& exchange::peer() const { return owner_->peer(); }

std::optional<net::endpoint> exchange::local() const { return owner_->local(); }

io::task<result<std::string_view>> exchange::read_body() { return owner_->read_body(); }

result<void> exchange::send(const prepared_response& response) { return owner_->send(response); }

result<void> exchange::start(int status, std::span<const header_field> fields,
                             std::optional<std::uint64_t> content_length, bool fields_checked) {
    return owner_->start(status, fields, content_length, fields_checked);
}

io::task<result<void>> exchange::write(std::string_view body) { return owner_->write(body); }

std::span<const header_field> exchange::trailers() const { return owner_->request_trailers(); }

result<void> exchange::informational(int status, std::span<const header_field> fields) {
    return owner_->informational(status, fields);
}

void exchange::end() { owner_->end(); }

result<void> exchange::end(std::span<const header_field> trailers) { return owner_->end(trailers); }

io::task<result<tunnel_totals>> exchange::tunnel(upgraded other) {
    return owner_->tunnel(std::move(other));
}

void exchange::abort() { owner_->abort(); }

void exchange::on_cancel(std::function<void()> hook) { owner_->on_cancel(std::move(hook)); }

bool exchange::cancelled() const { return owner_->cancelled(); }

bool exchange::responded() const { return owner_->responded(); }

bool exchange::stopping() const { return owner_->stopping(); }

}  // namespace waitless::http
