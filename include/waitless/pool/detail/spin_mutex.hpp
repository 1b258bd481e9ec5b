// The pool's lock. Its critical sections are a few dozen instructions, so a waiter spins
// briefly, then yields; unlock is a plain release store, one atomic read-modify-write per
// lock/unlock pair instead of two (pthread's), which is most of the acquire/release cost.
#pragma once

#include <atomic>
#include <thread>

namespace waitless::pool::detail {

class spin_mutex {
  public:
    [[gnu::always_inline]] void lock() noexcept {
        if (locked_.exchange(true, std::memory_order_acquire)) contended();
    }
    bool try_lock() noexcept {
        return !locked_.load(std::memory_order_relaxed) &&
               !locked_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

  private:
    [[gnu::noinline]] void contended() noexcept {
        do {
            for (int spins = 0; locked_.load(std::memory_order_relaxed); ++spins) {
                if (spins < 64) {
                    relax();
                } else {
                    std::this_thread::yield();  // the holder may have been preempted
                }
            }
        } while (locked_.exchange(true, std::memory_order_acquire));
    }

    static void relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }

    std::atomic<bool> locked_{false};
};

}  // namespace waitless::pool::detail
