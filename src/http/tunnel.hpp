// The byte relay of a tunnel (after 101 Switching Protocols): two sockets on one loop, a copy
// each way through a bounded buffer, half-closes relayed, an idle timeout over both.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "waitless/http/tunnel.hpp"
#include "waitless/io/fd_watch.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/io/timer.hpp"

namespace waitless::http::detail {

// One end: a connected socket registered with the loop through its watch.
struct tunnel_side {
    int fd = -1;
    io::fd_watch* watch = nullptr;
    std::string_view early;  // read from this side already: goes to the other side first
};

// The state both directions share, and the handle its owner stops it by.
class tunnel_control {
  public:
    tunnel_control(io::loop& l, tunnel_side client, tunnel_side other,
                   std::chrono::milliseconds idle_timeout);
    ~tunnel_control();
    tunnel_control(const tunnel_control&) = delete;
    tunnel_control& operator=(const tunnel_control&) = delete;

    // Ends both directions with ec (a wait under way ends on the next turn).
    void stop(std::error_code ec);
    // Bytes moved: the idle timeout starts again.
    void touch() { last_ = loop_.now(); }
    // Both directions ended: no timeout any more.
    void finished() { loop_.disarm(idle_timer_); }

    io::loop& loop_;
    tunnel_side sides[2];         // 0: the server's client, 1: the other side
    std::uint64_t moved[2] = {};  // bytes read from each side and written to the other
    bool shut[2] = {};            // each side's FIN was read and relayed
    bool client_fin_first = false;
    bool stopping = false;
    std::error_code error;

  private:
    static void on_idle(io::timer& t);
    std::chrono::milliseconds idle_;
    io::clock::time_point last_;
    io::timer idle_timer_{&tunnel_control::on_idle, this};
};

// Relays until both directions ended (each by its FIN, relayed with shutdown(SHUT_WR)) or one
// failed, timed out or was stopped; then says how it went.
io::task<void> relay(tunnel_control& c, tunnel_totals& out);

}  // namespace waitless::http::detail
