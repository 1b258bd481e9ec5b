// Listening sockets (TCP with SO_REUSEPORT, Unix) and accept with a bounded wait.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "waitless/core/error.hpp"
#include "waitless/net/endpoint.hpp"
#include "waitless/net/options.hpp"
#include "waitless/net/socket.hpp"

namespace waitless::net {

// Binds local (port 0: the kernel picks one; read it back with local_endpoint()) and listens.
result<socket> listen(const endpoint& local, const listen_options& options = {});

// Binds path ("@name": abstract namespace, no file) and listens. A socket file left behind by a
// listener that is gone (connect() is refused) is removed first; a live one is never touched.
result<socket> listen_unix(std::string_view path, const listen_options& options = {});

// Takes one connection. With a timeout, waits at most that long (errc::accept_timeout);
// without, follows the listener's blocking mode.
result<socket> accept(int listener_fd,
                      std::optional<std::chrono::milliseconds> timeout = std::nullopt);

}  // namespace waitless::net
