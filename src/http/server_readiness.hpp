// A connection's readiness as the worker's own epoll set reports it (edge-triggered, registered
// once), and the coroutine that waits for it. Asio 1.22 pays a syscall per wait on a socket
// (epoll_ctl, or a recv that meets EAGAIN); this pays none: a short read means drained, and the
// next bytes bring a new edge.
#pragma once

#include <sys/epoll.h>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <cstdint>
#include <system_error>
#include <utility>

namespace waitless::http::detail {

class readiness_waiter {
  public:
    // Resumes the waiter: inline when the caller allows it (the epoll loop), else posted.
    virtual void complete(std::error_code ec, bool inline_ok) = 0;

  protected:
    ~readiness_waiter() = default;
};

template <class Handler>
class readiness_waiter_for final : public readiness_waiter {
  public:
    explicit readiness_waiter_for(Handler h) : handler_(std::move(h)) {}
    void complete(std::error_code ec, bool inline_ok) override {
        Handler h(std::move(handler_));
        delete this;
        auto ex = asio::get_associated_executor(h);
        auto resume = [h = std::move(h), ec]() mutable { std::move(h)(ec); };
        if (inline_ok) {
            asio::dispatch(ex, std::move(resume));
        } else {
            asio::post(ex, std::move(resume));
        }
    }

  private:
    Handler handler_;
};

class readiness {
  public:
    readiness() = default;
    readiness(const readiness&) = delete;
    readiness& operator=(const readiness&) = delete;

    // Until a read or write meets EAGAIN (or a short read), assume it would succeed.
    bool readable = true;
    bool writable = true;
    // The peer's FIN was reported: its edge came already, so a short read does not mean drained.
    bool peer_shut_down = false;

    // From the worker's epoll loop. May resume (and so destroy) the connection that owns this.
    void on_events(std::uint32_t events) {
        readiness_waiter* waiter = nullptr;
        const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
        if ((events & EPOLLRDHUP) != 0) peer_shut_down = true;
        if (failed || (events & (EPOLLIN | EPOLLRDHUP)) != 0) {
            readable = true;
            waiter = std::exchange(read_waiter_, nullptr);
        }
        if (failed || (events & EPOLLOUT) != 0) {
            writable = true;
            if (waiter == nullptr) waiter = std::exchange(write_waiter_, nullptr);
        }
        if (waiter != nullptr) waiter->complete({}, true);  // last: `this` may be gone after
    }

    // Ends a pending wait with operation_aborted (a timeout, a shutdown).
    void cancel() {
        auto* r = std::exchange(read_waiter_, nullptr);
        auto* w = std::exchange(write_waiter_, nullptr);
        if (r != nullptr) r->complete(asio::error::operation_aborted, false);
        if (w != nullptr) w->complete(asio::error::operation_aborted, false);
    }

    // Completes when the socket turns readable (or writable), or on cancel().
    template <class Token>
    auto async_wait(bool for_write, Token&& token) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this, for_write](auto handler) {
                using handler_type = std::decay_t<decltype(handler)>;
                auto* w = new readiness_waiter_for<handler_type>(std::move(handler));
                (for_write ? write_waiter_ : read_waiter_) = w;
            },
            token);
    }

  private:
    readiness_waiter* read_waiter_ = nullptr;
    readiness_waiter* write_waiter_ = nullptr;
};

}  // namespace waitless::http::detail
