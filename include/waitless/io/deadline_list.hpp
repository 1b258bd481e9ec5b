// Timeouts of one duration as an intrusive FIFO: pushing at `now` keeps the list sorted by
// deadline, so arming, refreshing and clearing a timeout are O(1) with no timer syscall.
#pragma once

#include <chrono>

#include "waitless/io/timer.hpp"

namespace waitless::io {

class deadline_list;

// Embedded in whatever can time out; `owner` says which list holds it (none: not armed).
struct deadline_hook {
    deadline_hook* prev = nullptr;
    deadline_hook* next = nullptr;
    deadline_list* owner = nullptr;
    clock::time_point at{};
    void* item = nullptr;  // what times out

    bool armed() const { return owner != nullptr; }
    void unlink();
};

class deadline_list {
  public:
    explicit deadline_list(std::chrono::milliseconds duration) : duration_(duration) {}
    deadline_list(const deadline_list&) = delete;
    deadline_list& operator=(const deadline_list&) = delete;

    // (Re)arms the hook to expire `duration` after now, at the back of this list.
    void push(deadline_hook& hook, clock::time_point now) {
        hook.unlink();
        hook.at = now + duration_;
        hook.owner = this;
        hook.prev = tail_;
        hook.next = nullptr;
        (tail_ ? tail_->next : head_) = &hook;
        tail_ = &hook;
    }
    deadline_hook* front() const { return head_; }
    bool empty() const { return head_ == nullptr; }
    std::chrono::milliseconds duration() const { return duration_; }

    // Unlinks every hook whose deadline is past and calls on_expired(hook) for it.
    template <class F>
    void expire(clock::time_point now, F&& on_expired) {
        while (head_ != nullptr && head_->at <= now) {
            deadline_hook& hook = *head_;
            hook.unlink();
            on_expired(hook);
        }
    }

  private:
    friend struct deadline_hook;
    std::chrono::milliseconds duration_;
    deadline_hook* head_ = nullptr;
    deadline_hook* tail_ = nullptr;
};

inline void deadline_hook::unlink() {
    if (owner == nullptr) return;
    (prev ? prev->next : owner->head_) = next;
    (next ? next->prev : owner->tail_) = prev;
    prev = next = nullptr;
    owner = nullptr;
}

}  // namespace waitless::io
