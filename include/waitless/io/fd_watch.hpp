// A descriptor's readiness as its loop's epoll reports it (edge-triggered, registered once), and
// the coroutines waiting on it: one reader and one writer at a time, so a connection can read
// and write at once (full duplex). Waiting costs no syscall: a read or write that met EAGAIN
// clears the flag, and the next edge sets it.
#pragma once

#include <coroutine>
#include <cstdint>
#include <system_error>
#include <utility>

#include "waitless/io/loop.hpp"
#include "waitless/io/timer.hpp"

namespace waitless::io {

class fd_watch {
  public:
    fd_watch() = default;
    ~fd_watch();
    fd_watch(const fd_watch&) = delete;
    fd_watch& operator=(const fd_watch&) = delete;

    // Until a read or write meets EAGAIN (or a short read), assume it would succeed.
    bool readable = true;
    bool writable = true;
    // The peer's FIN was reported: its edge came already, so a short read does not mean drained.
    bool peer_shut_down = false;
    // EPOLLERR or EPOLLHUP came: the next read or write says what.
    bool failed = false;

    io::loop* owner() const { return loop_; }
    // Adopted (loop::adopt) and not yet in epoll.
    bool registered() const { return pending_fd_ < 0; }
    // Puts an adopted descriptor into epoll now (a no-op once it is): before its owner waits
    // for something else while events of this descriptor still matter (a hangup).
    result<void> register_now();

    // From the loop. Resumes a waiter inline (it may end the connection that owns this); when
    // both a reader and a writer can go, the writer goes on the next turn.
    void on_events(std::uint32_t events);

    // Called from on_events when the peer shuts down or the socket fails while no one waits
    // to read: the owner may want to stop work done for that peer. Must not destroy the watch.
    using hangup_callback = void (*)(void* target);
    void on_hangup(hangup_callback fn, void* target) {
        hangup_ = fn;
        hangup_target_ = target;
    }

    // Ends the pending waits with ec (a timeout, a shutdown, the other direction failing);
    // their coroutines resume on the next turn.
    void cancel(std::error_code ec = std::make_error_code(std::errc::operation_canceled));

    // A deadline for the waits: past it they end with errc::timed_out, and so does every
    // later wait until the deadline is cleared or moved. Costs one heap operation.
    void set_deadline(clock::time_point at);
    void clear_deadline();
    bool timed_out() const { return timed_out_; }

    // co_await w.wait(for_write): empty when ready, else why the wait ended.
    auto wait(bool for_write) {
        struct awaiter {
            fd_watch& w;
            bool for_write;
            std::error_code ec;
            bool await_ready() {
                if (w.timed_out_) {
                    ec = std::make_error_code(std::errc::timed_out);
                    return true;
                }
                return for_write ? w.writable : w.readable;
            }
            bool await_suspend(std::coroutine_handle<> h) {
                if (auto added = w.register_now(); !added) {
                    ec = added.error();
                    return false;  // resumes at once with the error
                }
                auto& slot = for_write ? w.writer_ : w.reader_;
                slot.handle = h;
                slot.error = &ec;
                return true;
            }
            std::error_code await_resume() const noexcept { return ec; }
        };
        return awaiter{*this, for_write, {}};
    }
    auto readable_wait() { return wait(false); }
    auto writable_wait() { return wait(true); }
    bool waiting() const { return reader_.handle || writer_.handle; }

  private:
    friend class loop;
    struct slot {
        std::coroutine_handle<> handle;
        std::error_code* error = nullptr;
        std::coroutine_handle<> take(std::error_code ec) {
            if (handle && ec) *error = ec;
            error = nullptr;
            return std::exchange(handle, {});
        }
    };
    static void on_deadline(timer& t);

    io::loop* loop_ = nullptr;
    int pending_fd_ = -1;  // adopted, not yet registered
    slot reader_, writer_;
    hangup_callback hangup_ = nullptr;
    void* hangup_target_ = nullptr;
    timer deadline_{&fd_watch::on_deadline, this};
    bool timed_out_ = false;
};

}  // namespace waitless::io
