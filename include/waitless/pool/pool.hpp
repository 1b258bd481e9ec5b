// waitless::pool::pool<T, Factory>: a generic resource pool with a blocking face for threaded
// code, thread-safe, with its own factory and maintenance threads. A worker's event loop uses
// loop_pool (loop_pool.hpp) instead: the same core state machine, run on the loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <source_location>
#include <thread>
#include <utility>

#include "waitless/pool/detail/state.hpp"
#include "waitless/pool/error.hpp"
#include "waitless/pool/factory.hpp"
#include "waitless/pool/lease.hpp"
#include "waitless/pool/options.hpp"

namespace waitless::pool {

template <class T, class Factory = function_factory<T>>
requires factory_for<Factory, T>
class pool {
  public:
    using resource_type = T;
    using lease_type = lease<T>;

    // Throws std::invalid_argument on bad options (start-up only). Starts creating `min`
    // resources and, unless maintenance_interval is zero, the maintenance thread.
    explicit pool(Factory factory, options o = {}) {
        check(o);
        state_ = std::make_shared<state_type>(std::move(factory), std::move(o));
        state_->maintain();
        const duration interval = state_->opts().maintenance_interval;
        if (interval > duration::zero()) {
            maintenance_ = std::jthread([st = state_.get(), interval](std::stop_token stop) {
                std::mutex m;
                std::condition_variable_any cv;
                std::unique_lock lk(m);
                while (!stop.stop_requested()) {
                    cv.wait_for(lk, stop, interval, [] { return false; });
                    if (stop.stop_requested()) break;
                    st->maintain();
                }
            });
        }
    }

    // Refuses new acquires, fails waiters, destroys idle resources and waits for factory calls
    // in flight (bounded by their timeouts). Leases still out are destroyed when returned.
    ~pool() {
        if (maintenance_.joinable()) {
            maintenance_.request_stop();
            maintenance_.join();
        }
        state_->shut_down();
    }

    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // Blocking face: waits up to acquire_timeout (or ao.timeout) on the calling thread.
    result<lease<T>> acquire(const acquire_options& ao = {},
                             std::source_location where = std::source_location::current()) {
        return state_->acquire(ao, where);
    }

    // An idle resource now, or errc::would_block.
    result<lease<T>> try_acquire(std::source_location where = std::source_location::current()) {
        return state_->try_acquire(where);
    }

    // Refuse new acquires, wait for every lease to come back, destroy everything. False if
    // `limit` (wall time) passed first. The pool stays closed afterwards.
    bool drain(duration limit = duration::max()) { return state_->drain(limit); }
    // Destroy the idle resources now (min is refilled by maintenance).
    void clear() { state_->clear(); }
    // New limits at run time; errc::invalid_size for max == 0 or min > max. Extra idle
    // resources close at once, extra borrowed ones when they come back.
    result<void> resize(std::size_t max, std::size_t min) {
        if (auto ec = state_->resize(max, min)) return std::unexpected(ec);
        return {};
    }
    // One maintenance pass now: what the background thread does every maintenance_interval.
    void maintain() { state_->maintain(); }

    ::waitless::pool::stats stats() const { return state_->snapshot(); }
    const options& opts() const noexcept { return state_->opts(); }

  private:
    using state_type = detail::state<T, Factory>;
    std::shared_ptr<state_type> state_;
    std::jthread maintenance_;
};

}  // namespace waitless::pool
