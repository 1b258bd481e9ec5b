// Entering a named network namespace (as made by `ip netns add NAME`).
#pragma once

#include <string>
#include <string_view>

#include "waitless/core/error.hpp"

namespace waitless::core {

// The file that names the namespace: /run/netns/NAME, or NAME itself when it is an absolute
// path such as /proc/PID/ns/net (a container's namespace, by one of its processes).
std::string netns_path(std::string_view name);

// Moves the calling thread into the namespace. Sockets opened and /proc/sys/net, /proc/net
// read afterwards are the namespace's. Fails with errc::netns_not_found or a system error.
result<void> enter_netns(std::string_view name);

}  // namespace waitless::core
