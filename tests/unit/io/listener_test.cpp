// A loop's listeners: registered exclusive, so that of the loops watching one listening socket
// (workers sharing a Unix socket) a new connection wakes one; their reports turned off and on.
#include <dirent.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <string>

#include "waitless/io/fd_watch.hpp"
#include "waitless/io/loop.hpp"

namespace waitless::io {
namespace {

// The events epoll watches `fd` for, read from /proc/self/fdinfo of every epoll descriptor of
// this process ("tfd: 7 events: 10000019 ..."); nullopt when none watches it.
std::optional<std::uint32_t> watched_events(int fd) {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return std::nullopt;
    std::optional<std::uint32_t> found;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        char target[64] = {};
        const std::string link = "/proc/self/fd/" + name;
        if (::readlink(link.c_str(), target, sizeof target - 1) <= 0) continue;
        if (std::string_view(target) != "anon_inode:[eventpoll]") continue;
        std::ifstream info("/proc/self/fdinfo/" + name);
        std::string word;
        while (info >> word) {
            if (word != "tfd:") continue;
            int tfd = -1;
            std::string label, events;
            info >> tfd >> label >> events;
            if (tfd == fd && label == "events:") found = std::stoul(events, nullptr, 16);
        }
    }
    ::closedir(dir);
    return found;
}

int listening_socket() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd, 16) != 0) {
        ADD_FAILURE() << "no listening socket";
    }
    return fd;
}

TEST(Listener, IsWatchedExclusiveAndItsReportsTurnOffAndOn) {
    const int fd = listening_socket();
    loop l;
    fd_watch w;
    ASSERT_TRUE(l.add_listener(fd, w));
    auto events = watched_events(fd);
    ASSERT_TRUE(events.has_value());
    EXPECT_EQ(*events & (EPOLLIN | EPOLLEXCLUSIVE),
              static_cast<std::uint32_t>(EPOLLIN | EPOLLEXCLUSIVE));
    EXPECT_EQ(*events & EPOLLET, 0u) << "a listener is level-triggered";

    // An exclusive entry cannot be modified: off and on again take it away and bring it back.
    EXPECT_TRUE(l.reports(fd, w, false));
    EXPECT_FALSE(watched_events(fd).has_value());
    EXPECT_TRUE(l.reports(fd, w, false)) << "off when off already changes nothing";
    EXPECT_TRUE(l.reports(fd, w, true));
    events = watched_events(fd);
    ASSERT_TRUE(events.has_value());
    EXPECT_EQ(*events & (EPOLLIN | EPOLLEXCLUSIVE),
              static_cast<std::uint32_t>(EPOLLIN | EPOLLEXCLUSIVE));
    EXPECT_TRUE(l.reports(fd, w, true)) << "on when on already changes nothing";
    l.remove(fd);
    ::close(fd);
}

}  // namespace
}  // namespace waitless::io
