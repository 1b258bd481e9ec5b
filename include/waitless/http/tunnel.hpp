// What a connection becomes after 101 Switching Protocols: a socket that carries another
// protocol's bytes. The client hands the upstream one over (client_stream::take_upgraded()), and
// a server exchange relays between it and its own client (exchange::tunnel()).
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "waitless/net/socket.hpp"

namespace waitless::http {

// A connection that switched protocols: connected, non-blocking, registered with no loop.
struct upgraded {
    net::socket socket;
    std::string early;  // bytes the peer sent after the 101's head, read already
};

// How a tunnel went, once both directions are done.
struct tunnel_totals {
    std::uint64_t from_client = 0;  // bytes relayed from the server's client to the other side
    std::uint64_t to_client = 0;
    // Both sides shut their sending down and each shutdown was relayed (a FIN each way);
    // otherwise `error` says what ended it (the idle timeout, a reset, the drain timeout).
    bool clean = false;
    std::error_code error;
};

}  // namespace waitless::http
