#include "waitless/net/socket.hpp"

#include <unistd.h>

namespace waitless::net {

void socket::reset(int fd) noexcept {
    // close() is not retried on EINTR: on Linux the descriptor is gone either way.
    if (fd_ >= 0 && fd_ != fd) ::close(fd_);
    fd_ = fd;
}

}  // namespace waitless::net
