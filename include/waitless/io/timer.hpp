// Timers of a loop: an intrusive binary heap, so arming, moving and cancelling a timer allocate
// nothing once the heap has grown. Fixed-duration timeouts (idle, header) use deadline_list
// instead, which is O(1), and arm one timer for the list's head.
#pragma once

#include <chrono>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

namespace waitless::io {

using clock = std::chrono::steady_clock;

struct timer {
    using callback = void (*)(timer&);
    explicit timer(callback on_fire = nullptr, void* on_target = nullptr)
        : fire(on_fire), target(on_target) {}
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;

    callback fire;
    void* target;  // for the callback
    clock::time_point at{};
    std::size_t index = npos;  // in the heap; npos: not armed
    static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

    bool armed() const { return index != npos; }
};

class timer_heap {
  public:
    void arm(timer& t, clock::time_point at) {
        t.at = at;
        if (t.armed()) {
            fix(t.index);
            return;
        }
        t.index = heap_.size();
        heap_.push_back(&t);
        up(t.index);
    }
    void disarm(timer& t) {
        if (!t.armed()) return;
        const std::size_t i = t.index;
        t.index = timer::npos;
        timer* last = heap_.back();
        heap_.pop_back();
        if (last == &t) return;
        heap_[i] = last;
        last->index = i;
        fix(i);
    }
    bool empty() const { return heap_.empty(); }
    clock::time_point next() const { return heap_.front()->at; }
    std::size_t size() const { return heap_.size(); }

    // Fires every timer due at `now`, earliest first. A callback may arm or disarm any timer.
    void expire(clock::time_point now) {
        while (!heap_.empty() && heap_.front()->at <= now) {
            timer& t = *heap_.front();
            disarm(t);
            t.fire(t);
        }
    }

  private:
    void fix(std::size_t i) {
        if (i > 0 && heap_[i]->at < heap_[(i - 1) / 2]->at) {
            up(i);
        } else {
            down(i);
        }
    }
    void up(std::size_t i) {
        while (i > 0) {
            const std::size_t parent = (i - 1) / 2;
            if (!(heap_[i]->at < heap_[parent]->at)) break;
            swap(i, parent);
            i = parent;
        }
    }
    void down(std::size_t i) {
        for (;;) {
            const std::size_t left = 2 * i + 1;
            if (left >= heap_.size()) return;
            std::size_t least = left;
            if (left + 1 < heap_.size() && heap_[left + 1]->at < heap_[left]->at) least = left + 1;
            if (!(heap_[least]->at < heap_[i]->at)) return;
            swap(i, least);
            i = least;
        }
    }
    void swap(std::size_t a, std::size_t b) {
        std::swap(heap_[a], heap_[b]);
        heap_[a]->index = a;
        heap_[b]->index = b;
    }

    std::vector<timer*> heap_;
};

}  // namespace waitless::io
