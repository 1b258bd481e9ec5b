// A tunnel's relay: each direction reads into its own buffer and writes it out before it reads
// again, so a slow side holds back the other (bounded memory: one buffer each way and the
// kernel's socket buffers). A FIN is relayed as shutdown(SHUT_WR) once all before it is written.
#include "tunnel.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "waitless/core/error.hpp"
#include "waitless/net/io.hpp"

namespace waitless::http::detail {
namespace {

constexpr std::size_t piece_size = 16 * 1024;

bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

// Writes all of `bytes` to `to`, waiting for it as needed. False when the tunnel stops.
io::task<bool> write_all(tunnel_control& c, const tunnel_side& to, std::string_view bytes,
                         std::uint64_t& moved) {
    while (!bytes.empty()) {
        if (c.stopping) co_return false;
        if (!to.watch->writable) {
            if (auto ec = co_await to.watch->wait(true)) {
                c.stop(ec);
                co_return false;
            }
            continue;
        }
        const auto n = net::send_some(to.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (would_block(errno)) {
                to.watch->writable = false;
                continue;
            }
            c.stop(last_system_error());
            co_return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
        moved += static_cast<std::uint64_t>(n);
        c.touch();
    }
    co_return true;
}

// One direction: from sides[from] to the other side, until the FIN or the end of the tunnel.
io::task<void> pump(tunnel_control& c, int from) {
    const tunnel_side& in = c.sides[from];
    const tunnel_side& to = c.sides[1 - from];
    if (!co_await write_all(c, to, in.early, c.moved[from])) co_return;
    const auto buffer = std::make_unique_for_overwrite<char[]>(piece_size);
    for (;;) {
        if (c.stopping) co_return;
        if (!in.watch->readable) {
            if (auto ec = co_await in.watch->wait(false)) {
                c.stop(ec);
                co_return;
            }
            continue;
        }
        const auto n = net::recv_some(in.fd, buffer.get(), piece_size, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (would_block(errno)) {
                in.watch->readable = false;
                continue;
            }
            c.stop(last_system_error());
            co_return;
        }
        if (n == 0) {
            // Half-closed: the other side learns it and may still answer.
            (void)::shutdown(to.fd, SHUT_WR);
            if (from == 0 && !c.shut[1]) c.client_fin_first = true;
            c.shut[from] = true;
            c.touch();
            co_return;
        }
        const auto got = static_cast<std::size_t>(n);
        // Short: drained, unless the FIN's edge came already (then no edge will follow).
        if (got < piece_size && !in.watch->peer_shut_down) in.watch->readable = false;
        c.touch();
        if (!co_await write_all(c, to, {buffer.get(), got}, c.moved[from])) co_return;
    }
}

}  // namespace

tunnel_control::tunnel_control(io::loop& l, tunnel_side client, tunnel_side other,
                               std::chrono::milliseconds idle_timeout)
    : loop_(l), sides{client, other}, idle_(idle_timeout), last_(l.now()) {
    if (idle_.count() > 0) loop_.arm(idle_timer_, last_ + idle_);
}

tunnel_control::~tunnel_control() { loop_.disarm(idle_timer_); }

void tunnel_control::stop(std::error_code ec) {
    if (stopping) return;
    stopping = true;
    error = ec;
    loop_.disarm(idle_timer_);
    for (auto& s : sides) s.watch->cancel(ec);
}

void tunnel_control::on_idle(io::timer& t) {
    auto& c = *static_cast<tunnel_control*>(t.target);
    const auto due = c.last_ + c.idle_;
    if (c.loop_.now() < due) {
        c.loop_.arm(c.idle_timer_, due);  // bytes moved since it was armed
        return;
    }
    c.stop(std::make_error_code(std::errc::timed_out));
}

io::task<void> relay(tunnel_control& c, tunnel_totals& out) {
    co_await io::when_all(pump(c, 0), pump(c, 1));
    c.finished();
    out.from_client = c.moved[0];
    out.to_client = c.moved[1];
    out.clean = !c.stopping && c.shut[0] && c.shut[1];
    out.error = c.error;
}

}  // namespace waitless::http::detail
