// The demo's in-process peers: a backend that answers like `waitless serve` (a 12-byte body)
// and a pooling proxy in front of one, each on a loopback port the kernel picks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "waitless/core/error.hpp"
#include "waitless/http/server.hpp"
#include "waitless/proxy/proxy.hpp"

namespace waitless::demo::detail {

class embedded_backend {
  public:
    // Port 0: the kernel picks one.
    static result<std::unique_ptr<embedded_backend>> start(http::server_close_policy policy,
                                                           std::size_t workers,
                                                           std::uint16_t port = 0);
    ~embedded_backend();
    embedded_backend(const embedded_backend&) = delete;
    embedded_backend& operator=(const embedded_backend&) = delete;
    std::uint16_t port() const { return port_; }

  private:
    explicit embedded_backend(std::unique_ptr<http::server> s) : server_(std::move(s)) {}
    std::unique_ptr<http::server> server_;
    std::uint16_t port_ = 0;
};

class embedded_proxy {
  public:
    // Short client connections are reset (the default close policy on loopback); upstream
    // connections are pooled.
    static result<std::unique_ptr<embedded_proxy>> start(std::uint16_t upstream_port,
                                                         std::uint16_t port = 0);
    ~embedded_proxy();
    embedded_proxy(const embedded_proxy&) = delete;
    embedded_proxy& operator=(const embedded_proxy&) = delete;
    std::uint16_t port() const { return port_; }

  private:
    explicit embedded_proxy(std::unique_ptr<proxy::proxy> p) : proxy_(std::move(p)) {}
    std::unique_ptr<proxy::proxy> proxy_;
    std::uint16_t port_ = 0;
};

// The port of "127.0.0.1:43117"; 0 when there is none.
std::uint16_t port_of(std::string_view address);

}  // namespace waitless::demo::detail
