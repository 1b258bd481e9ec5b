// The awaitable face's waiter: an Asio operation that completes on its handler's executor, with
// a timer for acquire_timeout and per-operation cancellation (as used by awaitable operators).
#pragma once

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <memory>
#include <optional>
#include <utility>

#include "waitless/pool/detail/core.hpp"
#include "waitless/pool/lease.hpp"

namespace waitless::pool::detail {

// Lifetime: one reference for the completion (handed to the posted finish()), one for a pending
// timer wait. Both run on the handler's executor, which must be one thread or a strand.
template <class T, class Owner, class Handler>
class async_waiter final : public waiter<T> {
  public:
    async_waiter(Handler handler, std::shared_ptr<Owner> owner)
        : handler_(std::move(handler)),
          executor_(asio::get_associated_executor(handler_)),
          owner_(std::move(owner)) {}

    ~async_waiter() override {
        // The io_context went away with our completion still queued: return the resource.
        if (this->granted != nullptr) owner_->give_back(*this->granted, false);
    }

    // Under the pool's lock, from whichever thread freed a resource or gave up.
    void on_complete() noexcept override {
        asio::post(executor_, [r = ref(this)]() mutable { r.op->finish(); });
    }

    void arm_timer() {
        timer_.emplace(executor_);
        timer_->expires_at(this->deadline);
        refs_.fetch_add(1, std::memory_order_relaxed);
        timer_->async_wait([r = ref(this)](std::error_code ec) {
            if (!ec) r.op->owner_->expire_waiter(*r.op, errc::timeout);
        });
    }

    void connect_cancellation() {
        cancel_slot_ = asio::get_associated_cancellation_slot(handler_);
        if (cancel_slot_.is_connected()) {
            cancel_slot_.assign(
                [this](asio::cancellation_type) { owner_->expire_waiter(*this, errc::cancelled); });
        }
    }

    // Enqueueing failed (too many waiters, draining): complete without ever having waited.
    void fail_at_once(std::error_code ec) {
        this->error = ec;
        this->done = true;
        on_complete();
    }

  private:
    struct ref {
        async_waiter* op;
        explicit ref(async_waiter* p) noexcept : op(p) {}
        ref(ref&& other) noexcept : op(std::exchange(other.op, nullptr)) {}
        ref& operator=(ref&&) = delete;
        ~ref() {
            if (op != nullptr && op->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete op;
        }
    };

    void finish() {
        if (timer_) timer_->cancel();
        if (cancel_slot_.is_connected()) cancel_slot_.clear();
        const std::error_code ec = this->error;
        lease<T> l;
        if (this->granted != nullptr)
            l = lease<T>(owner_.get(), std::exchange(this->granted, nullptr));
        if (ec == errc::timeout) owner_->emit({event_kind::acquire_timeout, {}, ec, this->where});
        std::move(handler_)(ec, std::move(l));
    }

    Handler handler_;
    asio::associated_executor_t<Handler> executor_;
    std::shared_ptr<Owner> owner_;
    std::optional<asio::steady_timer> timer_;
    asio::cancellation_slot cancel_slot_;
    std::atomic<int> refs_{1};
};

}  // namespace waitless::pool::detail
