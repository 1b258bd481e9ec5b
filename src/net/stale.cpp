#include "waitless/net/stale.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "waitless/net/error.hpp"
#include "waitless/net/io.hpp"

namespace waitless::net {

liveness check_liveness(int fd) {
    char byte = 0;
    for (;;) {
        const auto n = recv_some(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return liveness::peer_closed;
        if (n > 0) return liveness::unexpected_data;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return liveness::alive;
        return liveness::reset;
    }
}

result<void> check_reusable(int fd) {
    if (check_liveness(fd) == liveness::alive) return {};
    return std::unexpected(make_error_code(errc::stale));
}

}  // namespace waitless::net
