#include "census/sock_diag.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace waitless::census::detail {
namespace {

constexpr std::uint32_t sequence = 7;

std::vector<std::uint8_t> message(std::uint16_t type, const void* payload, std::size_t size,
                                  std::uint32_t seq = sequence) {
    nlmsghdr header{};
    header.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(size));
    header.nlmsg_type = type;
    header.nlmsg_seq = seq;
    std::vector<std::uint8_t> bytes(NLMSG_SPACE(size));
    std::memcpy(bytes.data(), &header, sizeof header);
    if (size > 0) std::memcpy(bytes.data() + NLMSG_HDRLEN, payload, size);
    return bytes;
}

inet_diag_msg time_wait_record() {
    inet_diag_msg diag{};
    diag.idiag_family = AF_INET;
    diag.idiag_state = 6;
    diag.idiag_timer = 3;
    diag.idiag_expires = 42000;
    diag.id.idiag_sport = htons(40001);
    diag.id.idiag_dport = htons(80);
    diag.id.idiag_src[0] = htonl(0x7f000001);
    diag.id.idiag_dst[0] = htonl(0x0a000009);
    return diag;
}

TEST(ParseDiagMessage, ReadsARecord) {
    const auto diag = time_wait_record();
    const auto bytes = message(SOCK_DIAG_BY_FAMILY, &diag, sizeof diag);
    socket_record record;
    auto step = parse_diag_message(bytes, AF_INET, sequence, record);
    ASSERT_TRUE(step);
    EXPECT_EQ(*step, diag_step::record);
    EXPECT_EQ(record.state, tcp_state::time_wait);
    EXPECT_EQ(record.local_ip.to_string(), "127.0.0.1");
    EXPECT_EQ(record.remote_ip.to_string(), "10.0.0.9");
    EXPECT_EQ(record.local_port, 40001);
    EXPECT_EQ(record.remote_port, 80);
    EXPECT_EQ(record.expires_ms, 42000u);
}

TEST(ParseDiagMessage, EndsOnDoneAndReportsKernelErrors) {
    int zero = 0;
    socket_record record;
    EXPECT_EQ(parse_diag_message(message(NLMSG_DONE, &zero, sizeof zero), AF_INET, sequence, record)
                  .value(),
              diag_step::done);
    nlmsgerr error{};
    error.error = -EPERM;
    auto refused =
        parse_diag_message(message(NLMSG_ERROR, &error, sizeof error), AF_INET, sequence, record);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), std::errc::operation_not_permitted);
}

TEST(ParseDiagMessage, SkipsOtherSequencesAndTypes) {
    const auto diag = time_wait_record();
    socket_record record;
    EXPECT_EQ(parse_diag_message(message(SOCK_DIAG_BY_FAMILY, &diag, sizeof diag, sequence + 1),
                                 AF_INET, sequence, record)
                  .value(),
              diag_step::skip);
    EXPECT_EQ(parse_diag_message(message(NLMSG_NOOP, &diag, sizeof diag), AF_INET, sequence, record)
                  .value(),
              diag_step::skip);
}

TEST(ParseDiagMessage, RejectsMalformedReplies) {
    const auto diag = time_wait_record();
    socket_record record;
    const auto good = message(SOCK_DIAG_BY_FAMILY, &diag, sizeof diag);
    // Every truncation of a good message is an error, never an overread.
    for (std::size_t size = 0; size < NLMSG_LENGTH(sizeof diag); ++size) {
        std::vector<std::uint8_t> cut(good.begin(), good.begin() + static_cast<long>(size));
        cut.shrink_to_fit();
        EXPECT_FALSE(parse_diag_message(cut, AF_INET, sequence, record)) << size;
    }
    auto lying = good;  // nlmsg_len claims less than a header
    lying[0] = 8;
    lying[1] = lying[2] = lying[3] = 0;
    EXPECT_FALSE(parse_diag_message(lying, AF_INET, sequence, record));
    auto short_record = message(SOCK_DIAG_BY_FAMILY, &diag, sizeof diag - 4);
    EXPECT_FALSE(parse_diag_message(short_record, AF_INET, sequence, record));
    EXPECT_FALSE(parse_diag_message(good, AF_INET6, sequence, record));  // wrong family
    for (int bad_state : {0, 13, 255}) {
        auto odd = diag;
        odd.idiag_state = static_cast<std::uint8_t>(bad_state);
        EXPECT_FALSE(parse_diag_message(message(SOCK_DIAG_BY_FAMILY, &odd, sizeof odd), AF_INET,
                                        sequence, record))
            << bad_state;
    }
    nlmsgerr error{};
    EXPECT_FALSE(parse_diag_message(message(NLMSG_ERROR, &error, 2), AF_INET, sequence, record));
}

TEST(SockDiagSocket, DumpsARealListener) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listener, 17), 0);
    socklen_t length = sizeof address;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);

    auto socket = sock_diag_socket::open();
    ASSERT_TRUE(socket) << socket.error().message();
    bool found = false;
    auto dumped = socket->dump(AF_INET, 1u << 10, [&](const socket_record& r) {
        EXPECT_EQ(r.state, tcp_state::listen);
        if (r.local_port == ntohs(address.sin_port)) {
            found = true;
            EXPECT_EQ(r.send_queue, 17u);  // the backlog in force
            EXPECT_TRUE(r.local_ip.is_loopback());
        }
    });
    ::close(listener);
    ASSERT_TRUE(dumped) << dumped.error().message();
    EXPECT_TRUE(found);
}

}  // namespace
}  // namespace waitless::census::detail
