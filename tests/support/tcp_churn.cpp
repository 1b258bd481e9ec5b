#include "support/tcp_churn.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace waitless::test {
namespace {

struct fd_guard {
    int fd = -1;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

bool fill_address(const std::string& ip, std::uint16_t port, sockaddr_storage& storage,
                  socklen_t& length) {
    std::memset(&storage, 0, sizeof storage);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        length = sizeof(sockaddr_in);
        return true;
    }
    if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        length = sizeof(sockaddr_in6);
        return true;
    }
    return false;
}

// Waits until the peer's FIN has arrived (read returns 0), bounded by 2 s.
void wait_for_eof(int fd) {
    pollfd p{fd, POLLIN, 0};
    char byte = 0;
    for (int i = 0; i < 20; ++i) {
        if (::poll(&p, 1, 100) > 0 && ::read(fd, &byte, 1) <= 0) return;
    }
}

}  // namespace

churn_result churn(std::size_t count, closer who_closes_first, const std::string& server_ip,
                   const std::string& client_ip, bool keep_listening) {
    churn_result result;
    sockaddr_storage server{};
    socklen_t server_length = 0;
    if (!fill_address(server_ip, 0, server, server_length)) {
        result.error = "bad server address " + server_ip;
        return result;
    }
    fd_guard listener{::socket(server.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (listener.fd < 0 ||
        ::bind(listener.fd, reinterpret_cast<sockaddr*>(&server), server_length) != 0 ||
        ::listen(listener.fd, 4096) != 0) {
        result.error = std::string("listen: ") + std::strerror(errno);
        return result;
    }
    ::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&server), &server_length);
    result.server_port =
        ntohs(server.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&server)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&server)->sin6_port);

    constexpr std::size_t batch = 500;
    while (result.completed < count && result.error.empty()) {
        const std::size_t n = std::min(batch, count - result.completed);
        std::vector<int> clients;
        std::vector<int> accepted;
        for (std::size_t i = 0; i < n; ++i) {
            const int fd = ::socket(server.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                result.error = std::string("socket: ") + std::strerror(errno);
                break;
            }
            if (!client_ip.empty()) {
                sockaddr_storage local{};
                socklen_t local_length = 0;
                fill_address(client_ip, 0, local, local_length);
                if (::bind(fd, reinterpret_cast<sockaddr*>(&local), local_length) != 0) {
                    result.error = std::string("bind: ") + std::strerror(errno);
                    ::close(fd);
                    break;
                }
            }
            if (::connect(fd, reinterpret_cast<sockaddr*>(&server), server_length) != 0) {
                result.error = std::string("connect: ") + std::strerror(errno);
                ::close(fd);
                break;
            }
            clients.push_back(fd);
            const int peer = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (peer < 0) {
                result.error = std::string("accept: ") + std::strerror(errno);
                break;
            }
            accepted.push_back(peer);
        }
        auto& first = who_closes_first == closer::client ? clients : accepted;
        auto& second = who_closes_first == closer::client ? accepted : clients;
        for (int fd : first) ::close(fd);
        for (int fd : second) {
            wait_for_eof(fd);
            ::close(fd);
        }
        result.completed += std::min(clients.size(), accepted.size());
    }
    if (keep_listening) std::swap(result.listener_fd, listener.fd);
    return result;
}

}  // namespace waitless::test
