// Test helper: an in-process server on 127.0.0.1:0 with one worker and the handler given.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "waitless/http/server.hpp"

namespace waitless::http {

struct running_server {
    explicit running_server(handler h, server_options o = {}) : s(with_listen(std::move(o)), h) {
        auto started = s.start();
        EXPECT_TRUE(started) << started.error().message();
        port = static_cast<std::uint16_t>(std::stoi(s.addresses().at(0).substr(10)));
    }
    static server_options with_listen(server_options o) {
        o.listen = {*listen_address::parse("127.0.0.1:0")};
        o.workers = 1;
        o.peer_close_wait = std::chrono::milliseconds(200);
        return o;
    }
    server s;
    std::uint16_t port = 0;
};

}  // namespace waitless::http
