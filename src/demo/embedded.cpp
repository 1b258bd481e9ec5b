#include "embedded.hpp"

#include <charconv>
#include <string_view>

#include "waitless/http/response.hpp"

namespace waitless::demo::detail {
namespace {

http::listen_address loopback(std::uint16_t port) {
    return *http::listen_address::parse("127.0.0.1:" + std::to_string(port));
}

http::handler serve_handler() {
    static constexpr http::header_field fields[] = {{"Server", "waitless"},
                                                    {"Content-Type", "text/plain"}};
    auto ok = std::make_shared<const http::prepared_response>(200, fields, "hello world\n");
    return [ok](http::exchange& ex) -> io::task<void> {
        (void)ex.send(*ok);
        co_return;
    };
}

}  // namespace

std::uint16_t port_of(std::string_view address) {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return 0;
    std::uint16_t port = 0;
    const auto digits = address.substr(colon + 1);
    std::from_chars(digits.data(), digits.data() + digits.size(), port);
    return port;
}

result<std::unique_ptr<embedded_backend>> embedded_backend::start(http::server_close_policy policy,
                                                                  std::size_t workers,
                                                                  std::uint16_t port) {
    http::server_options o;
    o.listen.push_back(loopback(port));
    o.workers = workers;
    o.close_policy = policy;
    o.max_requests = 0;  // the keep-alive scenarios keep their connections for the whole run
    std::unique_ptr<embedded_backend> b(
        new embedded_backend(std::make_unique<http::server>(std::move(o), serve_handler())));
    if (auto started = b->server_->start(); !started) return std::unexpected(started.error());
    b->port_ = port_of(b->server_->addresses().front());
    return b;
}

embedded_backend::~embedded_backend() {
    server_->stop();
    server_->wait();
}

result<std::unique_ptr<embedded_proxy>> embedded_proxy::start(std::uint16_t upstream_port,
                                                              std::uint16_t port) {
    proxy::options o;
    o.server.listen.push_back(loopback(port));
    o.server.workers = 1;
    o.server.max_requests = 0;
    o.upstreams.push_back(proxy::upstream_server{"127.0.0.1", upstream_port, 1});
    std::unique_ptr<embedded_proxy> p(
        new embedded_proxy(std::make_unique<proxy::proxy>(std::move(o))));
    if (auto started = p->proxy_->start(); !started) return std::unexpected(started.error());
    p->port_ = port_of(p->proxy_->addresses().front());
    return p;
}

embedded_proxy::~embedded_proxy() {
    proxy_->stop();
    proxy_->wait();
}

}  // namespace waitless::demo::detail
