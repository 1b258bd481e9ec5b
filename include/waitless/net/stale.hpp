// The check before a pooled connection is handed out: has the peer closed or reset it?
#pragma once

#include "waitless/core/error.hpp"

namespace waitless::net {

// What a non-blocking peek (recv MSG_PEEK | MSG_DONTWAIT) says about an idle connection.
enum class liveness {
    alive,            // EAGAIN: nothing pending, the connection can be reused
    peer_closed,      // 0 bytes: the peer's FIN is pending
    reset,            // an error (ECONNRESET, ETIMEDOUT, ...): an RST or a dead peer
    unexpected_data,  // bytes nobody asked for: the protocol is out of step
};

// Never blocks and never consumes bytes (an error, once seen, is consumed by the kernel).
liveness check_liveness(int fd);

// Success when the connection is alive, errc::stale otherwise.
result<void> check_reusable(int fd);

}  // namespace waitless::net
