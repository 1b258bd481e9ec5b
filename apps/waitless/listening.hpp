// The flags serve and proxy share for their listening side: where to listen, how to close
// client connections, which client networks count as trusted.
#pragma once

#include <string>
#include <vector>

#include "command.hpp"
#include "waitless/core/address.hpp"
#include "waitless/http/server.hpp"

namespace waitless::app {

inline constexpr const char* defer_accept_help =
    "Accept a TCP connection once its request's first bytes came (TCP_DEFER_ACCEPT), so a short "
    "connection is answered without entering epoll; a silent client is accepted after about "
    "this many seconds anyway (default 1; 0: off)";

// --listen (default 127.0.0.1:8080), --close-policy, --trusted-peers, --defer-accept into
// server options; a bad value is a usage_error naming its flag.
inline void apply_listening(const std::vector<std::string>& listen, const std::string& close_policy,
                            const std::string& trusted_peers, unsigned defer_accept_seconds,
                            http::server_options& options) {
    options.defer_accept = std::chrono::seconds(defer_accept_seconds);
    for (const auto& text : listen) {
        auto address = http::listen_address::parse(text);
        if (!address) {
            throw usage_error("--listen '" + text +
                              "': expected IP:PORT, [IPv6]:PORT, localhost:PORT or unix:PATH");
        }
        options.listen.push_back(*address);
    }
    if (options.listen.empty()) {
        options.listen.push_back(*http::listen_address::parse("127.0.0.1:8080"));
    }
    if (close_policy == "graceful") {
        options.close_policy = http::server_close_policy::graceful;
    } else if (close_policy == "abortive") {
        options.close_policy = http::server_close_policy::abortive;
    } else if (close_policy == "peer_first") {
        options.close_policy = http::server_close_policy::peer_first;
    } else {
        options.close_policy = http::server_close_policy::automatic;
    }
    auto trusted = core::parse_networks(trusted_peers);
    if (!trusted) {
        throw usage_error("--trusted-peers '" + trusted_peers +
                          "': expected CIDR blocks such as 10.0.0.0/8,fd00::/8");
    }
    options.trusted_peers = std::move(*trusted);
}

}  // namespace waitless::app
