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
                             std::optional<std::uint64_t> content_length) {
    return owner_->start(status, fields, content_length);
}

io::task<result<void>> exchange::write(std::string_view body) { return owner_->write(body); }

void exchange::end() { owner_->end(); }

void exchange::abort() { owner_->abort(); }

void exchange::on_cancel(std::function<void()> hook) { owner_->on_cancel(std::move(hook)); }

bool exchange::cancelled() const { return owner_->cancelled(); }

bool exchange::responded() const { return owner_->responded(); }

bool exchange::stopping() const { return owner_->stopping(); }

}  // namespace waitless::http
