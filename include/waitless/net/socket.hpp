// The owner of one socket descriptor: closes it once, moves but never copies.
#pragma once

#include <utility>

namespace waitless::net {

// Closing through the destructor is a plain close(): a FIN, or whatever SO_LINGER says.
// To choose where TIME_WAIT lands, close through net::close() with a close_policy instead.
class socket {
  public:
    socket() noexcept = default;
    explicit socket(int fd) noexcept : fd_(fd) {}
    socket(socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    socket& operator=(socket&& other) noexcept {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    socket(const socket&) = delete;
    socket& operator=(const socket&) = delete;
    ~socket() { reset(); }

    int native_handle() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return is_open(); }

    // Gives up ownership, e.g. to hand the descriptor to an Asio socket.
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
    // Closes the descriptor held (if any) and takes fd instead.
    void reset(int fd = -1) noexcept;

  private:
    int fd_ = -1;
};

}  // namespace waitless::net
