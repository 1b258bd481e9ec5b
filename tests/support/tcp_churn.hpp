// Making TIME_WAIT on purpose: many short connections on loopback, closed by a chosen side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace waitless::test {

enum class closer { client, server };

struct churn_result {
    std::uint16_t server_port = 0;  // the listening port used
    std::size_t completed = 0;      // connections opened and closed in full
    std::string error;              // the first failure, if any stopped the run early
    int listener_fd = -1;           // with keep_listening: the caller's to close
};

// Opens `count` connections from `client_ip` to a listener on `server_ip` (port 0: chosen by
// the kernel), then closes each from the `who_closes_first` side and lets the other side
// finish the close, so each leaves one TIME_WAIT socket on the side that closed first.
// Works in batches so at most ~1000 descriptors are open at once. Runs in the calling
// thread's network namespace. Closes the listener at the end unless keep_listening is set
// (server-side TIME_WAIT is only told apart while its port is still listening).
churn_result churn(std::size_t count, closer who_closes_first,
                   const std::string& server_ip = "127.0.0.1", const std::string& client_ip = "",
                   bool keep_listening = false);

}  // namespace waitless::test
