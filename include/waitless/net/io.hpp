// The socket reads and writes of the library, without glibc's cancellation wrappers.
//
// glibc's recv(), send() and sendmsg() are thread-cancellation points: in a process that has
// ever had a second thread, each call enables and then disables asynchronous cancellation
// around the system call: two atomic read-modify-writes, and in a perf profile of the proxy
// about 4% of its user time (4 calls per proxied request). waitless never cancels a thread, so
// its sockets are read and written through syscall(), which is no cancellation point.
// Same arguments, same results and errno as the glibc functions.
#pragma once

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>

namespace waitless::net {

inline ssize_t recv_some(int fd, void* buffer, std::size_t size, int flags) noexcept {
    return ::syscall(SYS_recvfrom, fd, buffer, size, flags, nullptr, nullptr);
}

inline ssize_t send_some(int fd, const void* data, std::size_t size, int flags) noexcept {
    return ::syscall(SYS_sendto, fd, data, size, flags, nullptr, 0);
}

inline ssize_t send_message(int fd, const msghdr* message, int flags) noexcept {
    return ::syscall(SYS_sendmsg, fd, message, flags);
}

}  // namespace waitless::net
