// The floor for bench/proxy_vs_peers.sh: the least any proxy on this machine can do per request.
// One thread, one edge-triggered epoll set, no parser, no pool, no timers, no limits: each
// accepted client connection gets its own upstream connection at once (a non-blocking connect to
// the backend), and bytes are copied both ways as they come. Per keep-alive request that is two
// recv, two send and a share of an epoll_wait, nearly all of it the kernel's, so a real proxy's
// CPU over the floor's says what its own work adds. It is a floor for CPU, not for memory: each
// pair holds two descriptors and two 16 KiB buffers (only the pages it touches count in RSS).
//
// Usage: floor_proxy LISTEN_PORT BACKEND_PORT   (both on 127.0.0.1; runs until killed)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

namespace {

constexpr std::size_t buffer_size = 16 * 1024;

struct connection_pair;

// One socket of a pair; epoll's data.ptr points at it.
struct endpoint {
    int fd = -1;
    connection_pair* owner = nullptr;
};

// Bytes read from one socket and not yet written to the other: data[begin, end).
struct direction {
    std::unique_ptr<char[]> data = std::make_unique_for_overwrite<char[]>(buffer_size);
    std::size_t begin = 0;
    std::size_t end = 0;
    bool pending() const { return begin < end; }
};

// A client connection and the upstream connection made for it alone.
struct connection_pair {
    endpoint client;
    endpoint upstream;
    direction to_upstream;
    direction to_client;
    bool closed = false;
};

sockaddr_in loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

int listen_on(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in address = loopback(port);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd, 4096) != 0) {
        std::perror("floor_proxy: bind/listen");
        std::exit(1);
    }
    return fd;
}

void set_no_delay(int fd) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Both sockets are registered once for reading and writing, edge-triggered, and never modified:
// a writable edge comes only after a send met a full buffer (or a connect completed), so
// EPOLLOUT costs nothing until backpressure needs it, and no epoll_ctl is made per request.
bool watch(int epoll, endpoint& e) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.ptr = &e;
    return ::epoll_ctl(epoll, EPOLL_CTL_ADD, e.fd, &event) == 0;
}

// Copies bytes from `from` to `to` until one of them would block. It reads only into an empty
// buffer, so a side whose peer cannot take more is not read: that is the backpressure. `hung_up`
// says the peer's FIN has come (EPOLLRDHUP). False: a side closed or failed; close the pair.
bool pump(int from, int to, direction& d, bool hung_up) {
    bool drained = false;
    for (;;) {
        while (d.pending()) {
            const auto sent = ::send(to, d.data.get() + d.begin, d.end - d.begin, MSG_NOSIGNAL);
            if (sent < 0) return errno == EAGAIN;  // EPOLLOUT on `to` calls pump again
            d.begin += static_cast<std::size_t>(sent);
        }
        d.begin = d.end = 0;
        if (drained) return true;
        const auto got = ::recv(from, d.data.get(), buffer_size, 0);
        if (got == 0) return false;
        if (got < 0) return errno == EAGAIN;
        d.end = static_cast<std::size_t>(got);
        // A short read emptied the socket, unless a FIN came too (then the next recv sees 0):
        // the recv that would only fail with EAGAIN is skipped, as the next edge will come.
        drained = d.end < buffer_size && !hung_up;
    }
}

// Pending bytes of the other direction are dropped: the floor does no half-close.
void close_pair(connection_pair& pair) {
    ::close(pair.client.fd);
    ::close(pair.upstream.fd);
    pair.closed = true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: floor_proxy LISTEN_PORT BACKEND_PORT\n");
        return 2;
    }
    const int listen_port = std::atoi(argv[1]);
    const int backend_port = std::atoi(argv[2]);
    if (listen_port <= 0 || listen_port > 65535 || backend_port <= 0 || backend_port > 65535) {
        std::fprintf(stderr, "floor_proxy: ports are 1 to 65535\n");
        return 2;
    }
    const sockaddr_in backend = loopback(backend_port);
    const int listener = listen_on(listen_port);
    const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event listener_event{};
    listener_event.events = EPOLLIN;  // level-triggered; data.ptr == nullptr marks it
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &listener_event);

    std::vector<std::unique_ptr<connection_pair>> pairs;  // live pairs, by client descriptor
    // Pairs closed during one batch of events live until its end, as later events of the same
    // batch may still point at them.
    std::vector<std::unique_ptr<connection_pair>> closed;
    const auto retire = [&](connection_pair& pair) {
        const auto slot = static_cast<std::size_t>(pair.client.fd);
        close_pair(pair);
        closed.push_back(std::move(pairs[slot]));
    };

    epoll_event events[256];
    for (;;) {
        const int n = ::epoll_wait(epoll, events, 256, -1);
        for (int i = 0; i < n; ++i) {
            const auto mask = events[i].events;
            if (events[i].data.ptr == nullptr) {
                // Out of descriptors (EMFILE) ends the loop too; the listener stays readable,
                // so it spins until some close: raise `ulimit -n` rather than meet it.
                for (;;) {
                    const int client =
                        ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (client < 0) break;
                    const int upstream =
                        ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                    if (upstream < 0) {
                        ::close(client);
                        break;
                    }
                    set_no_delay(client);
                    set_no_delay(upstream);
                    if (::connect(upstream, reinterpret_cast<const sockaddr*>(&backend),
                                  sizeof backend) != 0 &&
                        errno != EINPROGRESS) {
                        ::close(client);
                        ::close(upstream);
                        continue;
                    }
                    auto pair = std::make_unique<connection_pair>();
                    pair->client = {client, pair.get()};
                    pair->upstream = {upstream, pair.get()};
                    // Until the connect completes, sends upstream fail with EAGAIN and the
                    // request waits in to_upstream for the writable edge the connect brings.
                    if (!watch(epoll, pair->client) || !watch(epoll, pair->upstream)) {
                        close_pair(*pair);
                        continue;
                    }
                    const auto slot = static_cast<std::size_t>(client);
                    if (pairs.size() <= slot) pairs.resize(slot + 1);
                    pairs[slot] = std::move(pair);
                }
                continue;
            }
            auto& side = *static_cast<endpoint*>(events[i].data.ptr);
            auto& pair = *side.owner;
            if (pair.closed) continue;
            if (mask & EPOLLERR) {  // a reset, or a refused connect
                retire(pair);
                continue;
            }
            const bool is_client = &side == &pair.client;
            endpoint& peer = is_client ? pair.upstream : pair.client;
            direction& outgoing = is_client ? pair.to_upstream : pair.to_client;
            direction& incoming = is_client ? pair.to_client : pair.to_upstream;
            // Writable: resume the direction into this side if it waited (the mask carries
            // EPOLLOUT on every edge, so only a waiting direction is worth a call).
            if ((mask & EPOLLOUT) && incoming.pending() &&
                !pump(peer.fd, side.fd, incoming, false)) {
                retire(pair);
                continue;
            }
            // Readable: copy to the peer, unless the peer still has bytes of ours to take.
            if ((mask & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && !outgoing.pending() &&
                !pump(side.fd, peer.fd, outgoing, (mask & (EPOLLRDHUP | EPOLLHUP)) != 0)) {
                retire(pair);
            }
        }
        closed.clear();
    }
}
