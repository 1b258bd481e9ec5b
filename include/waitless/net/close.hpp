// Close policies: each decides which side, if any, holds the 60 s TIME_WAIT of a connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <variant>

#include "waitless/core/error.hpp"
#include "waitless/net/socket.hpp"

namespace waitless::net {

// Bytes the kernel still holds for a socket.
struct queued_bytes {
    std::size_t unsent = 0;  // SIOCOUTQ: not yet acknowledged by the peer (sent or not)
    std::size_t unread = 0;  // SIOCINQ: received, not yet read by us
    bool empty() const { return unsent == 0 && unread == 0; }
};
result<queued_bytes> queued(int fd);
// SIOCOUTQ alone: the bytes the peer has not acknowledged yet.
result<std::size_t> unacknowledged(int fd);
// SIOCINQ alone: the bytes received and not read yet (a FIN is not counted).
result<std::size_t> unread(int fd);

// Whether the peer's FIN has arrived (POLLRDHUP), without reading anything.
bool peer_has_closed(int fd);

// FIN. Whoever sends the first FIN holds TIME_WAIT: this side unless the peer closed first.
// Linux sends an RST instead when unread bytes are left (no TIME_WAIT then, bytes lost).
struct graceful_close {};

// What an abortive close does when bytes would be lost.
enum class on_pending_data {
    refuse,            // return errc::data_would_be_lost, close nothing
    close_gracefully,  // keep unsent bytes: FIN instead of RST (this side holds TIME_WAIT)
};

// RST via SO_LINGER {1, 0}: no TIME_WAIT on either side; the peer sees ECONNRESET.
// Only when nothing is unsent or unread, since the RST discards both.
struct abortive_close {
    on_pending_data if_pending = on_pending_data::refuse;
};

// For protocols that can ask the peer to close first (HTTP: a request with Connection: close).
// request_close sends that request (and may read its reply); left empty, the request is taken
// as made already. Then the peer's FIN is awaited up to `wait`. If it comes, closing leaves
// TIME_WAIT on the peer. If not (or request_close fails: no wait then), an abortive close when
// the queues are empty, else a graceful one.
struct peer_first_close {
    std::function<result<void>(int fd)> request_close{};
    std::chrono::milliseconds wait{1000};
};

using close_policy = std::variant<graceful_close, abortive_close, peer_first_close>;

// What a close did, named after where the TIME_WAIT of the connection is.
enum class close_outcome {
    time_wait_here,  // this side sent the first FIN
    time_wait_peer,  // the peer's FIN came first
    reset,           // an RST ended it: no TIME_WAIT anywhere
    not_tcp,         // a Unix socket: nothing like TIME_WAIT
};

// Closes fd (which the caller owns) by the policy. On errc::data_would_be_lost fd is left open
// and still the caller's; in every other case, success or failure, fd is closed.
result<close_outcome> close_native(int fd, const close_policy& policy);

// The same for an owned socket; on errc::data_would_be_lost the socket stays open in s.
result<close_outcome> close(socket& s, const close_policy& policy);

// An RST now, whatever the queues hold, for a caller that knows nothing in them matters (all it
// sent is acknowledged; what the peer still sends is to be discarded): SO_LINGER {1, 0} and
// close(), nothing else. fd is a TCP socket the caller owns; it is closed in every case.
result<close_outcome> close_with_reset(int fd);

// For descriptors something else will close: checks the queues and sets
// SO_LINGER {1, 0}, so the owner's close() sends an RST. Fails with errc::data_would_be_lost.
result<void> arm_abortive_close(int fd);

}  // namespace waitless::net
