// A virtual user on raw non-blocking sockets: the request formatted once, the project's
// response parser, plain send()/recv() that wait on the loop only after EAGAIN.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "waitless/http/parser.hpp"
#include "waitless/io/fd_watch.hpp"
#include "waitless/loadgen/error.hpp"
#include "waitless/net/connect.hpp"
#include "waitless/net/error.hpp"
#include "worker.hpp"

namespace waitless::loadgen::detail {
namespace {

constexpr std::size_t buffer_size = 16 * 1024;

std::unexpected<std::error_code> system_error_now() { return std::unexpected(last_system_error()); }

// One connection with its read buffer and parser. Closing: plain close() (a FIN) unless
// reset_on_close was set; in short mode the client closes first, which is the point.
struct connection {
    net::socket sock;
    io::fd_watch watch;
    std::unique_ptr<char[]> buffer{new char[buffer_size]};
    std::size_t begin = 0, end = 0;
    http::parser parser{http::parser_kind::response};
    bool reset_on_close = false;

    int fd() const { return sock.native_handle(); }
    ~connection() {
        if (reset_on_close && sock) {
            const linger l{1, 0};
            ::setsockopt(fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
    }
};
using connection_ptr = std::unique_ptr<connection>;

result<net::socket> open_unix(const std::string& path, bool& connected) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) {
        return std::unexpected(std::make_error_code(std::errc::filename_too_long));
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    if (path.starts_with('@')) address.sun_path[0] = '\0';  // the abstract namespace
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    net::socket s{::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (!s) return system_error_now();
    for (;;) {
        if (::connect(s.native_handle(), reinterpret_cast<sockaddr*>(&address), length) == 0) {
            connected = true;
            return s;
        }
        if (errno == EINTR) continue;
        if (errno == EINPROGRESS) {
            connected = false;
            return s;
        }
        return system_error_now();
    }
}

io::task<result<connection_ptr>> open(worker& w) {
    const auto& p = w.setup();
    const auto started = clock::now();
    bool connected = false;
    result<net::socket> s;
    if (p.setup.to.is_unix()) {
        s = open_unix(p.setup.to.unix_path, connected);
    } else {
        s = net::open_for_connect(p.remote, p.connect);
        if (s) {
            auto begun = net::start_connect(*s, p.remote);
            if (!begun) co_return std::unexpected(begun.error());
            connected = *begun;
        }
    }
    if (!s) co_return std::unexpected(s.error());
    auto c = std::make_unique<connection>();
    c->sock = std::move(*s);
    c->reset_on_close = true;  // until connected: nothing to keep
    c->parser.expect_response_to_head(p.head_request);
    if (auto added = w.loop().add(c->fd(), c->watch); !added) {
        co_return std::unexpected(added.error());
    }
    if (!connected) {
        c->watch.writable = false;  // in progress: the connect's edge says when it ends
        c->watch.set_deadline(started + p.setup.timeout);
        auto ec = co_await c->watch.wait(true);
        c->watch.clear_deadline();
        if (ec == std::errc::timed_out) ec = make_error_code(net::errc::connect_timeout);
        if (!ec) {
            if (auto done = net::connect_error(c->fd()); !done) ec = done.error();
        }
        if (ec) co_return std::unexpected(ec);
    }
    c->reset_on_close = false;
    w.count_connect(started);
    co_return c;
}

struct response_info {
    int status = 0;
    bool keep_alive = true;
};

io::task<result<void>> send_all(connection& c, std::string_view data) {
    while (!data.empty()) {
        if (!c.watch.writable) {
            if (auto ec = co_await c.watch.wait(true)) co_return std::unexpected(ec);
        }
        const auto n = ::send(c.fd(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n >= 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            if (!data.empty()) c.watch.writable = false;  // the send buffer is full
        } else if (errno == EAGAIN) {
            c.watch.writable = false;
        } else if (errno != EINTR) {
            co_return system_error_now();
        }
    }
    co_return result<void>{};
}

io::task<result<response_info>> read_response(connection& c) {
    response_info info;
    for (;;) {
        // The end of a message may come as a step of its own, with no byte left to parse.
        for (;;) {
            auto step = c.parser.parse({c.buffer.get() + c.begin, c.end - c.begin});
            if (!step) co_return std::unexpected(step.error());
            c.begin += step->consumed;
            if (step->what == http::parser::event::head) {
                info.status = c.parser.head().status;
                info.keep_alive = c.parser.head().keep_alive;
            } else if (step->what == http::parser::event::end) {
                if (c.begin == c.end) c.begin = c.end = 0;
                co_return info;
            } else if (step->what == http::parser::event::need_more) {
                break;
            }
        }
        if (c.begin > 0) {
            std::memmove(c.buffer.get(), c.buffer.get() + c.begin, c.end - c.begin);
            c.end -= c.begin;
            c.begin = 0;
        }
        if (c.end == buffer_size) co_return std::unexpected(make_error_code(errc::bad_response));
        if (!c.watch.readable) {
            if (auto ec = co_await c.watch.wait(false)) co_return std::unexpected(ec);
        }
        const std::size_t room = buffer_size - c.end;
        const auto n = ::recv(c.fd(), c.buffer.get() + c.end, room, 0);
        if (n > 0) {
            // A short read drained the socket, unless the peer's FIN came with it.
            if (static_cast<std::size_t>(n) < room && !c.watch.peer_shut_down) {
                c.watch.readable = false;
            }
            c.end += static_cast<std::size_t>(n);
        } else if (n == 0) {
            auto ended = c.parser.finish();
            if (ended && *ended) {  // a body delimited by the close
                info.keep_alive = false;
                co_return info;
            }
            co_return std::unexpected(make_error_code(errc::bad_response));
        } else if (errno == EAGAIN) {
            c.watch.readable = false;
        } else if (errno != EINTR) {
            co_return system_error_now();
        }
    }
}

// The server said it closes: wait for its FIN (or its reset) so the TIME_WAIT stays there.
io::task<result<void>> wait_for_peer_close(connection& c, bool tcp) {
    // Acknowledge the response now: a server that resets once all is acknowledged would
    // otherwise wait for our delayed ACK (40 ms on a connection past its quick-ack start).
    if (tcp) {
        const int on = 1;
        ::setsockopt(c.fd(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
    }
    char scratch[512];
    for (;;) {
        if (!c.watch.readable) {
            if (auto ec = co_await c.watch.wait(false)) co_return std::unexpected(ec);
        }
        const auto n = ::recv(c.fd(), scratch, sizeof scratch, 0);
        if (n == 0) co_return result<void>{};
        if (n > 0) continue;  // bytes past the response: ignored
        if (errno == EAGAIN) {
            c.watch.readable = false;
        } else if (errno == ECONNRESET) {
            co_return result<void>{};
        } else if (errno != EINTR) {
            co_return system_error_now();
        }
    }
}

}  // namespace

io::task<void> raw_user(worker& w) {
    const auto& p = w.setup();
    const bool short_lived = p.setup.how == mode::short_lived;
    const bool paced = p.setup.rate.has_value();
    connection_ptr c;
    while (auto slot = w.next_slot()) {
        if (paced && *slot > clock::now()) co_await w.loop().sleep_until(*slot);
        const auto started = paced ? *slot : clock::now();
        // An idle connection the server closed meanwhile is replaced without counting an error.
        if (c && (c->watch.peer_shut_down || c->watch.failed)) c.reset();
        if (!c) {
            auto opened = co_await open(w);
            if (!opened) {
                w.count_error(opened.error(), true);
                co_await w.loop().sleep_for(p.setup.connect_error_pause);
                continue;
            }
            c = std::move(*opened);
        }
        c->watch.set_deadline(started + p.setup.timeout);
        auto sent = co_await send_all(*c, p.request);
        result<response_info> info = sent ? co_await read_response(*c)
                                          : result<response_info>(std::unexpected(sent.error()));
        if (!info) {
            w.count_error(info.error(), false);
            c->reset_on_close = true;
            c.reset();
            continue;
        }
        w.count_response(started, info->status);
        if (short_lived) {
            c.reset();  // the client closes first: the TIME_WAIT lands here
            continue;
        }
        if (!info->keep_alive) {
            (void)co_await wait_for_peer_close(*c, !p.setup.to.is_unix());
            c.reset();
            continue;
        }
        c->watch.clear_deadline();
    }
    // Nothing in flight: reset, so the end of the run leaves no TIME_WAIT of its own.
    if (c) c->reset_on_close = true;
    c.reset();
    w.user_done();
}

}  // namespace waitless::loadgen::detail
