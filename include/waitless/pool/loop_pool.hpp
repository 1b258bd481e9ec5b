// waitless::pool::loop_pool<T, Factory>: the pool's single-threaded face for a worker's
// io::loop. Same options, states and transition function as pool<T> (detail::core), but create
// runs as a coroutine on the loop and validate, destroy, idle eviction and lifetimes run on the
// loop too, driven by one loop timer: no threads, no locks, no maintenance thread.
// Everything, returning leases included, happens on the loop's thread.
#pragma once

#include <coroutine>
#include <memory>
#include <optional>
#include <source_location>
#include <stop_token>
#include <utility>

#include "waitless/io/loop.hpp"
#include "waitless/pool/detail/loop_state.hpp"
#include "waitless/pool/error.hpp"
#include "waitless/pool/lease.hpp"
#include "waitless/pool/options.hpp"

namespace waitless::pool {

template <class T, class Factory>
requires loop_factory_for<Factory, T>
class loop_pool {
    using state_type = detail::loop_state<T, Factory>;

  public:
    using resource_type = T;
    using lease_type = lease<T>;

    // Throws std::invalid_argument on bad options (start-up only). maintenance_interval is not
    // a polling period here: the pool's timer fires at its next deadline. With options::clock
    // set (tests), no timer is armed: call maintain() to move time on.
    loop_pool(io::loop& l, Factory factory, options o = {}) {
        check(o);
        state_ = std::make_shared<state_type>(l, std::move(factory), std::move(o));
        state_->start();
    }
    // Fails the waiters (errc::draining), destroys idle resources; creates in flight are
    // destroyed when they end, leases still out when they come back.
    ~loop_pool() {
        if (state_) state_->shut_down();
    }
    loop_pool(const loop_pool&) = delete;
    loop_pool& operator=(const loop_pool&) = delete;

    // co_await pool.acquire(): a lease, or errc::timeout after acquire_timeout (or ao.timeout),
    // errc::cancelled when ao.stop is requested (on the loop's thread), errc::draining, or
    // too_many_waiters. An idle resource is taken without suspending and without allocating.
    // Waiters are served first come first served within a priority. Destroying the awaiting
    // coroutine while it waits takes it out of the queue; once served it is scheduled on the
    // loop, and (as with every io wait) must then run before it is destroyed.
    class acquire_awaiter {
      public:
        acquire_awaiter(std::shared_ptr<state_type> st, acquire_options ao,
                        std::source_location where)
            : state_(std::move(st)), ao_(std::move(ao)), where_(where) {}
        acquire_awaiter(acquire_awaiter&&) = default;  // before it is awaited only
        acquire_awaiter& operator=(acquire_awaiter&&) = delete;
        ~acquire_awaiter() {
            if (!waiter_.queued && waiter_.granted == nullptr) return;
            waiter_.handle = {};
            if (waiter_.queued) state_->cancel(waiter_, errc::cancelled);
            if (waiter_.granted != nullptr) state_->give_back(*waiter_.granted, false);
        }

        bool await_ready() {
            std::error_code ec;
            if (detail::slot<T>* s = state_->take(where_, ec)) {
                out_.emplace(lease<T>(state_.get(), s));
                return true;
            }
            const duration timeout = ao_.timeout.value_or(state_->opts().acquire_timeout);
            if (!ec && timeout == duration::zero()) ec = errc::timeout;
            if (!ec && ao_.stop.stop_requested()) ec = errc::cancelled;
            if (ec) {
                out_.emplace(std::unexpected(ec));
                return true;
            }
            waiter_.owner = state_.get();
            waiter_.level = ao_.priority;
            waiter_.where = where_;
            waiter_.deadline = add_saturated(state_->now(), timeout);
            if (auto e = state_->enqueue(waiter_)) {
                out_.emplace(std::unexpected(e));
                return true;
            }
            return waiter_.done;  // served at once (a resource went round meanwhile)
        }
        void await_suspend(std::coroutine_handle<> h) {
            waiter_.handle = h;
            if (ao_.stop.stop_possible()) on_stop_.emplace(ao_.stop, canceller{this});
        }
        result<lease<T>> await_resume() {
            on_stop_.reset();
            if (out_) return std::move(*out_);
            if (waiter_.error) {
                if (waiter_.error == errc::timeout) {
                    state_->emit({event_kind::acquire_timeout, {}, waiter_.error, where_});
                }
                return std::unexpected(waiter_.error);
            }
            return lease<T>(state_.get(), std::exchange(waiter_.granted, nullptr));
        }

      private:
        struct canceller {
            acquire_awaiter* self;
            void operator()() const noexcept {
                self->state_->cancel(self->waiter_, errc::cancelled);
            }
        };
        std::shared_ptr<state_type> state_;
        acquire_options ao_;
        std::source_location where_;
        typename state_type::loop_waiter waiter_;
        std::optional<result<lease<T>>> out_;
        std::optional<std::stop_callback<canceller>> on_stop_;
    };

    acquire_awaiter acquire(acquire_options ao = {},
                            std::source_location where = std::source_location::current()) {
        return acquire_awaiter(state_, std::move(ao), where);
    }

    // An idle resource now, or errc::would_block (a create is started for the next caller).
    result<lease<T>> try_acquire(std::source_location where = std::source_location::current()) {
        std::error_code ec;
        if (detail::slot<T>* s = state_->take(where, ec)) return lease<T>(state_.get(), s);
        return std::unexpected(ec ? ec : make_error_code(errc::would_block));
    }

    // Destroy the idle resources now.
    void clear() { state_->clear(); }
    // New limits; errc::invalid_size for max == 0 or min > max.
    result<void> resize(std::size_t max, std::size_t min) {
        if (auto ec = state_->resize(max, min)) return std::unexpected(ec);
        return {};
    }
    // What the timer does at each deadline: expire waiters and factory calls, retire idle and
    // old resources, report leaks, keep min. For a hand-driven clock.
    void maintain() { state_->maintain(); }

    ::waitless::pool::stats stats() const { return state_->snapshot(); }
    const options& opts() const noexcept { return state_->opts(); }
    io::loop& loop() const noexcept { return state_->loop(); }
    Factory& factory() noexcept { return state_->factory(); }

  private:
    std::shared_ptr<state_type> state_;
};

}  // namespace waitless::pool
