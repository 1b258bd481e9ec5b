// Readiness edges to the coroutines waiting for them.
#include "waitless/io/fd_watch.hpp"

#include <sys/epoll.h>

namespace waitless::io {

fd_watch::~fd_watch() {
    if (loop_ == nullptr) return;
    loop_->disarm(deadline_);
    loop_->forget(*this);
}

result<void> fd_watch::register_now() {
    if (pending_fd_ < 0) return {};
    return loop_->add(pending_fd_, *this);
}

void fd_watch::on_events(std::uint32_t events) {
    const bool error = (events & (EPOLLERR | EPOLLHUP)) != 0;
    if (error) failed = true;
    if ((events & EPOLLRDHUP) != 0) peer_shut_down = true;
    std::coroutine_handle<> read, write;
    if (error || (events & (EPOLLIN | EPOLLRDHUP)) != 0) {
        readable = true;
        read = reader_.take({});
    }
    if (error || (events & EPOLLOUT) != 0) {
        writable = true;
        write = writer_.take({});
    }
    if (!read && hangup_ != nullptr && (error || (events & EPOLLRDHUP) != 0)) {
        hangup_(hangup_target_);
    }
    if (read && write) {
        loop_->schedule(write);  // before the reader runs: it may end this watch
        read.resume();
    } else if (read) {
        read.resume();  // last: `this` may be gone after
    } else if (write) {
        write.resume();
    }
}

void fd_watch::cancel(std::error_code ec) {
    if (auto h = reader_.take(ec)) loop_->schedule(h);
    if (auto h = writer_.take(ec)) loop_->schedule(h);
}

void fd_watch::set_deadline(clock::time_point at) {
    timed_out_ = false;
    loop_->arm(deadline_, at);
}

void fd_watch::clear_deadline() {
    timed_out_ = false;
    if (loop_ != nullptr) loop_->disarm(deadline_);
}

void fd_watch::on_deadline(timer& t) {
    auto& self = *static_cast<fd_watch*>(t.target);
    self.timed_out_ = true;
    self.cancel(std::make_error_code(std::errc::timed_out));
}

}  // namespace waitless::io
