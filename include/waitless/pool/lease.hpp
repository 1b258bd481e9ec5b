// A borrowed resource: returned to its pool when the lease goes out of scope (RAII).
#pragma once

#include <cstdint>
#include <source_location>
#include <utility>

#include "waitless/core/error.hpp"
#include "waitless/pool/detail/slot.hpp"

namespace waitless::pool {

template <class T>
class lease {
  public:
    lease() = default;
    lease(detail::lease_owner<T>* owner, detail::slot<T>* s) noexcept : owner_(owner), slot_(s) {}
    lease(lease&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)),
          slot_(std::exchange(other.slot_, nullptr)) {}
    lease& operator=(lease&& other) noexcept {
        if (this != &other) {
            release();
            owner_ = std::exchange(other.owner_, nullptr);
            slot_ = std::exchange(other.slot_, nullptr);
        }
        return *this;
    }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { release(); }

    explicit operator bool() const noexcept { return slot_ != nullptr; }
    T& get() const noexcept {
        WAITLESS_ASSERT(slot_ != nullptr);
        return *slot_->resource;
    }
    T& operator*() const noexcept { return get(); }
    T* operator->() const noexcept { return &get(); }

    // How many times this resource was borrowed before this lease.
    std::uint64_t uses() const noexcept { return slot_ ? slot_->uses : 0; }
    // Where the acquire that produced this lease was called.
    std::source_location where() const noexcept {
        return slot_ ? slot_->acquired_at : std::source_location{};
    }

    // Return the resource to the pool now; the lease becomes empty.
    void release() noexcept {
        if (slot_) std::exchange(owner_, nullptr)->give_back(*std::exchange(slot_, nullptr), false);
    }
    // The resource is broken: destroy it instead of returning it; the lease becomes empty.
    void invalidate() noexcept {
        if (slot_) std::exchange(owner_, nullptr)->give_back(*std::exchange(slot_, nullptr), true);
    }

  private:
    detail::lease_owner<T>* owner_ = nullptr;
    detail::slot<T>* slot_ = nullptr;
};

}  // namespace waitless::pool
