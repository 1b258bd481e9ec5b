// A real nginx for a test: started as a child with a conf in a temp dir, on a free loopback port,
// optionally inside a temporary namespace; killed and reaped when the guard goes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace waitless::test {

class temporary_netns;

// What the test's nginx serves. server_block: directives inside `server { }` after listen and
// root (locations, ...); http_block: at http level (keepalive_timeout, ...); ns: run inside it.
struct nginx_config {
    std::string server_block;
    std::string http_block;
    const temporary_netns* ns = nullptr;
};

class nginx_server {
  public:
    // nullopt with why_not when nginx is missing ("not installed: ...") or would not start.
    // nginx is killed when the calling thread ends: call from the test's own thread.
    static std::optional<nginx_server> start(const nginx_config& config,
                                             std::string* why_not = nullptr);

    nginx_server(nginx_server&& other) noexcept;
    nginx_server& operator=(nginx_server&&) = delete;
    ~nginx_server();

    std::uint16_t port() const { return port_; }
    // "http://127.0.0.1:PORT"
    std::string base_url() const;
    // The error log, for failure messages.
    std::string error_log() const;
    // Writes a file under the served root (location / { root ...; }).
    void write_file(const std::string& name, const std::string& content) const;
    const std::string& root() const { return root_; }

  private:
    nginx_server() = default;
    void stop();

    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::string dir_;
    std::string root_;
};

// Starts nginx by `config` (an nginx_config); skips the current test, with the reason, when nginx
// is not installed, and fails it when nginx does not start.
#define WAITLESS_NGINX_OR_SKIP(variable, config)                                                  \
    std::string variable##_why;                                                                   \
    auto variable = ::waitless::test::nginx_server::start(config, &variable##_why);               \
    if (!variable && variable##_why.starts_with("not installed")) GTEST_SKIP() << variable##_why; \
    ASSERT_TRUE(variable) << variable##_why

}  // namespace waitless::test
