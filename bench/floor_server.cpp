// The floor for bench/serve_vs_nginx.sh: the least any HTTP/1.1 server on this machine can do
// per keep-alive request. One thread, one epoll set, no parser, no timers, no limits: it counts
// the blank lines that end request heads (bodies are not expected) and answers each with fixed
// bytes of the same size as `waitless serve`'s response. What it costs per request is nearly
// all the kernel's (recv, send, the loopback delivery to the client, epoll), so the ratio
// floor/nginx says how far below nginx a real server could get here at best.
//
// Usage: floor_server PORT      (listens on 127.0.0.1; runs until killed)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view response =
    "HTTP/1.1 200 OK\r\nServer: waitless\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
    "Date: Wed, 25 Nov 2026 00:00:00 GMT\r\nKeep-Alive: timeout=5\r\n\r\nhello world\n";

// The request heads that end in bytes; matched carries how far into "\r\n\r\n" the
// connection's bytes so far have come.
int count_heads(std::string_view bytes, int& matched) {
    static constexpr std::string_view end = "\r\n\r\n";
    int heads = 0;
    for (const char c : bytes) {
        if (c == end[static_cast<std::size_t>(matched)]) {
            if (++matched == 4) {
                ++heads;
                matched = 0;
            }
        } else {
            matched = c == '\r' ? 1 : 0;
        }
    }
    return heads;
}

int listen_on(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, 4096) != 0) {
        std::perror("floor_server: bind/listen");
        std::exit(1);
    }
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: floor_server PORT\n");
        return 2;
    }
    const int listener = listen_on(std::atoi(argv[1]));
    const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listener;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &ev);
    std::vector<int> matched;  // per descriptor
    char buffer[16 * 1024];
    epoll_event events[256];
    for (;;) {
        const int n = ::epoll_wait(epoll, events, 256, -1);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == listener) {
                int c = -1;
                while ((c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
                    const int one = 1;
                    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (matched.size() <= static_cast<std::size_t>(c)) matched.resize(c + 1);
                    matched[c] = 0;
                    epoll_event e{};
                    e.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
                    e.data.fd = c;
                    ::epoll_ctl(epoll, EPOLL_CTL_ADD, c, &e);
                }
                continue;
            }
            for (;;) {
                const auto got = ::recv(fd, buffer, sizeof buffer, 0);
                if (got < 0 && errno == EAGAIN) break;
                if (got <= 0) {
                    ::close(fd);
                    break;
                }
                const int heads = count_heads({buffer, static_cast<std::size_t>(got)}, matched[fd]);
                for (int h = 0; h < heads; ++h) {
                    ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
                }
                // A short read drained the socket, unless the FIN came with it.
                if (static_cast<std::size_t>(got) < sizeof buffer &&
                    (events[i].events & EPOLLRDHUP) == 0) {
                    break;
                }
            }
        }
    }
}
