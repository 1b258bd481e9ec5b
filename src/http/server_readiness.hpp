// A connection's readiness as the worker's own epoll set reports it (edge-triggered, registered
// once), and the coroutine that waits for it. Asio 1.22 pays a syscall per wait on a socket
// (epoll_ctl, or a recv that meets EAGAIN); this pays none: a short read means drained, and the
// next bytes bring a new edge.
#pragma once

#include <sys/epoll.h>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <cstddef>
#include <cstdint>
#include <new>
#include <system_error>
#include <utility>

#include "waitless/core/error.hpp"

namespace waitless::http::detail {

// A suspended wait, placed in its connection's readiness rather than on the heap.
class readiness_waiter {
  public:
    // Resumes the waiter: inline when the caller allows it (the epoll loop, on the context's
    // thread, which is what asio::dispatch would find too), else posted. Ends this object.
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
        this->~readiness_waiter_for();
        if (inline_ok) {
            std::move(h)(ec);
        } else {
            auto ex = asio::get_associated_executor(h);
            asio::post(ex, [h = std::move(h), ec]() mutable { std::move(h)(ec); });
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
            waiter = std::exchange(read_slot_.waiter, nullptr);
        }
        if (failed || (events & EPOLLOUT) != 0) {
            writable = true;
            if (waiter == nullptr) waiter = std::exchange(write_slot_.waiter, nullptr);
        }
        if (waiter != nullptr) waiter->complete({}, true);  // last: `this` may be gone after
    }

    // Ends a pending wait with operation_aborted (a timeout, a shutdown).
    void cancel() {
        auto* r = std::exchange(read_slot_.waiter, nullptr);
        auto* w = std::exchange(write_slot_.waiter, nullptr);
        if (r != nullptr) r->complete(asio::error::operation_aborted, false);
        if (w != nullptr) w->complete(asio::error::operation_aborted, false);
    }

    // Completes when the socket turns readable (or writable), or on cancel().
    template <class Token>
    auto async_wait(bool for_write, Token&& token) {
        return asio::async_initiate<Token, void(std::error_code)>(
            [this, for_write](auto handler) {
                using waiter_type = readiness_waiter_for<std::decay_t<decltype(handler)>>;
                auto& slot = for_write ? write_slot_ : read_slot_;
                static_assert(sizeof(waiter_type) <= sizeof(slot.storage) &&
                              alignof(waiter_type) <= alignof(std::max_align_t));
                WAITLESS_ASSERT(slot.waiter == nullptr);
                slot.waiter = new (slot.storage) waiter_type(std::move(handler));
            },
            token);
    }

  private:
    struct waiter_slot {
        alignas(std::max_align_t) unsigned char storage[64];
        readiness_waiter* waiter = nullptr;
    };
    waiter_slot read_slot_, write_slot_;
};

}  // namespace waitless::http::detail
