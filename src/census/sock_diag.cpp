#include "sock_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace waitless::census::detail {
namespace {

std::unexpected<std::error_code> malformed() {
    return std::unexpected(make_error_code(core::errc::malformed_input));
}

}  // namespace

result<sock_diag_socket> sock_diag_socket::open() {
    const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return std::unexpected(last_system_error());
    return sock_diag_socket(fd);
}

sock_diag_socket::~sock_diag_socket() {
    if (fd_ >= 0) ::close(fd_);
}

result<void> sock_diag_socket::send_request(int family, std::uint32_t states) {
    struct {
        nlmsghdr header;
        inet_diag_req_v2 request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.header.nlmsg_seq = ++sequence_;
    message.request.sdiag_family = static_cast<std::uint8_t>(family);
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = states;
    message.request.idiag_ext = 0;  // no extensions: 88-byte records
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    const auto sent = ::sendto(fd_, &message, sizeof message, 0,
                               reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel);
    if (sent < 0) return std::unexpected(last_system_error());
    if (static_cast<std::size_t>(sent) != sizeof message) {
        return std::unexpected(make_error_code(core::errc::truncated));
    }
    return {};
}

result<std::size_t> sock_diag_socket::receive() {
    for (;;) {
        sockaddr_nl from{};
        iovec io{buffer_, sizeof buffer_};
        msghdr header{};
        header.msg_name = &from;
        header.msg_namelen = sizeof from;
        header.msg_iov = &io;
        header.msg_iovlen = 1;
        const auto received = ::recvmsg(fd_, &header, 0);
        if (received < 0) {
            if (errno == EINTR) continue;
            return std::unexpected(last_system_error());
        }
        if (header.msg_flags & MSG_TRUNC) {
            return std::unexpected(make_error_code(core::errc::truncated));
        }
        if (received == 0) return malformed();
        if (from.nl_pid != 0) continue;  // not from the kernel
        return static_cast<std::size_t>(received);
    }
}

result<diag_step> parse_diag_message(std::span<const std::uint8_t> message, int family,
                                     std::uint32_t sequence, socket_record& record) {
    nlmsghdr header;
    if (message.size() < sizeof header) return malformed();
    std::memcpy(&header, message.data(), sizeof header);
    if (header.nlmsg_len < sizeof header || header.nlmsg_len > message.size()) return malformed();
    if (header.nlmsg_seq != sequence) return diag_step::skip;  // a reply to an earlier request
    if (header.nlmsg_type == NLMSG_DONE) return diag_step::done;
    if (header.nlmsg_type == NLMSG_ERROR) {
        nlmsgerr error;
        if (header.nlmsg_len < NLMSG_LENGTH(sizeof error)) return malformed();
        std::memcpy(&error, message.data() + NLMSG_HDRLEN, sizeof error);
        if (error.error == 0) return diag_step::done;
        return std::unexpected(std::error_code(-error.error, std::system_category()));
    }
    if (header.nlmsg_type != SOCK_DIAG_BY_FAMILY) return diag_step::skip;
    inet_diag_msg diag;
    if (header.nlmsg_len < NLMSG_LENGTH(sizeof diag)) return malformed();
    std::memcpy(&diag, message.data() + NLMSG_HDRLEN, sizeof diag);
    if (diag.idiag_family != family || diag.idiag_state == 0 ||
        diag.idiag_state >= tcp_state_count) {
        return malformed();
    }
    record.state = static_cast<tcp_state>(diag.idiag_state);
    if (family == AF_INET) {
        record.local_ip = core::ip_address::v4(diag.id.idiag_src[0]);
        record.remote_ip = core::ip_address::v4(diag.id.idiag_dst[0]);
    } else {
        std::uint8_t bytes[16];
        std::memcpy(bytes, diag.id.idiag_src, 16);
        record.local_ip = core::ip_address::v6(bytes);
        std::memcpy(bytes, diag.id.idiag_dst, 16);
        record.remote_ip = core::ip_address::v6(bytes);
    }
    record.local_port = ntohs(diag.id.idiag_sport);
    record.remote_port = ntohs(diag.id.idiag_dport);
    record.expires_ms = diag.idiag_expires;
    record.receive_queue = diag.idiag_rqueue;
    record.send_queue = diag.idiag_wqueue;
    return diag_step::record;
}

}  // namespace waitless::census::detail
