// Streaming reader of NETLINK_SOCK_DIAG dumps: one inet_diag_msg at a time, never the whole set.
#pragma once

#include <cstdint>
#include <span>

#include "waitless/census/census.hpp"
#include "waitless/core/error.hpp"

namespace waitless::census::detail {

// What one netlink message of a dump turned out to be.
enum class diag_step { record, skip, done };

// Checks one netlink message of a TCP dump reply for `family` and request `sequence`: a
// record (filled in), a message to skip, or the end. Malformed replies are errors, never
// read past `message`.
result<diag_step> parse_diag_message(std::span<const std::uint8_t> message, int family,
                                     std::uint32_t sequence, socket_record& record);

// A netlink socket for sock_diag requests; closes itself.
class sock_diag_socket {
  public:
    static result<sock_diag_socket> open();
    sock_diag_socket(sock_diag_socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    sock_diag_socket& operator=(sock_diag_socket&&) = delete;
    ~sock_diag_socket();

    // Dumps TCP sockets of one family (AF_INET or AF_INET6) whose state bit is set in
    // `states` (bit N = tcp_state N), with no extensions. Calls on_record for each socket.
    template <class OnRecord>
    result<void> dump(int family, std::uint32_t states, OnRecord&& on_record);

  private:
    explicit sock_diag_socket(int fd) : fd_(fd) {}
    result<void> send_request(int family, std::uint32_t states);
    // Receives one datagram into buffer_; its length, 0 never (an empty read is an error).
    result<std::size_t> receive();

    int fd_ = -1;
    std::uint32_t sequence_ = 0;
    alignas(8) std::uint8_t buffer_[64 * 1024];
};

template <class OnRecord>
result<void> sock_diag_socket::dump(int family, std::uint32_t states, OnRecord&& on_record) {
    if (auto sent = send_request(family, states); !sent) return sent;
    socket_record record;
    for (;;) {
        auto length = receive();
        if (!length) return std::unexpected(length.error());
        std::size_t offset = 0;
        while (offset < *length) {
            auto outcome = parse_diag_message(std::span(buffer_ + offset, *length - offset), family,
                                              sequence_, record);
            if (!outcome) return std::unexpected(outcome.error());
            if (*outcome == diag_step::done) return {};
            if (*outcome == diag_step::record) on_record(record);
            // parse_diag_message() has checked nlmsg_len against what is left.
            const auto* header = reinterpret_cast<const std::uint32_t*>(buffer_ + offset);
            offset += (*header + 3u) & ~3u;
        }
    }
}

}  // namespace waitless::census::detail
