// io::loop: one worker's event loop. Edge-triggered epoll (each descriptor registered once, with
// EPOLLRDHUP), coroutines resumed directly from the events, one timer heap for every deadline,
// a ready queue for what must resume on the next turn, and post() for other threads.
// Everything but post() and request_stop() runs on the loop's own thread.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

#include "waitless/core/error.hpp"
#include "waitless/io/task.hpp"
#include "waitless/io/timer.hpp"
#include "waitless/net/socket.hpp"

struct epoll_event;

namespace waitless::io {

class fd_watch;

class loop {
  public:
    loop();  // throws std::system_error when epoll or eventfd cannot be had (start-up)
    ~loop();
    loop(const loop&) = delete;
    loop& operator=(const loop&) = delete;

    // Turns until stop() (a stop() before run() is forgotten). Each turn: the ready queue, then
    // epoll_wait (no longer than the next timer), the events, the expired timers.
    void run();
    // run() returns at the end of this turn. From the loop's thread.
    void stop() { stopped_ = true; }
    bool stopped() const { return stopped_; }

    // From any thread: fn runs on the loop's thread during a later turn.
    void post(std::function<void()> fn);

    // Starts t on the next turn, detached (see spawn()).
    void start(task<void> t) { schedule(detail::run_deferred(std::move(t)).handle); }
    // Resumes h on the next turn (not inline: the caller may be in the middle of something).
    void schedule(std::coroutine_handle<> h) { ready_.push_back(h); }
    // co_await loop.yield(): let the other connections have a turn.
    auto yield() {
        struct awaiter {
            loop& l;
            bool await_ready() const noexcept { return false; }
            void await_suspend(std::coroutine_handle<> h) { l.schedule(h); }
            void await_resume() const noexcept {}
        };
        return awaiter{*this};
    }

    // The time at the start of this turn's events (one clock read per turn).
    clock::time_point now() const { return now_; }
    clock::time_point refresh_now();

    // Timers: fire(t) runs on the loop's thread at t.at or later. Re-arming moves it.
    void arm(timer& t, clock::time_point at) { timers_.arm(t, at); }
    void disarm(timer& t) { timers_.disarm(t); }
    // co_await loop.sleep_until(at) / sleep_for(d).
    task<void> sleep_until(clock::time_point at);
    task<void> sleep_for(std::chrono::nanoseconds d) { return sleep_until(clock::now() + d); }

    // Registers fd once for its lifetime (edge-triggered: in, out, peer shutdown). ENOSPC or
    // ENOMEM come back as values: that one connection is refused, the loop goes on.
    result<void> add(int fd, fd_watch& w);
    // The same, put off until w first waits (or w.register_now()): a descriptor that is
    // likely done before it ever waits (a request already read at accept, answered, closed)
    // costs no epoll_ctl() at all. Registering then reports the state of that moment, so no
    // edge is lost; a failure (ENOSPC, ENOMEM) ends that wait with its error.
    void adopt(int fd, fd_watch& w);
    // A listener: level-triggered reads, reported on every turn while connections wait, so
    // its owner may accept one per report and meet EAGAIN only when a loop that shares the
    // socket took the connection first. While the owner cannot accept, it turns the reports
    // off (reports(fd, w, false)), or every turn would wake at once.
    // Exclusive (EPOLLEXCLUSIVE): of the loops that watch one listening socket (workers sharing
    // a Unix socket), a new connection wakes one, not all.
    result<void> add_listener(int fd, fd_watch& w);
    // False when epoll refused the change (then the listener's reports stay as they were).
    // Off and on again unregister and register the listener (an exclusive entry cannot be
    // modified); either, when the reports are so already, changes nothing.
    bool reports(int fd, fd_watch& w, bool on);
    // Unregisters fd before it is closed while other descriptors share its open file (dup(),
    // fork()): epoll forgets an entry only when the last of them closes.
    void remove(int fd);
    // The same, and w forgets this loop (its deadline, its readiness) so another loop may add
    // fd: a descriptor that moves between threads while idle (blocking faces). Its pending
    // waits must be over.
    void remove(int fd, fd_watch& w);
    // Drops a watch that is going away from the events of this turn still to be dispatched
    // (a connection ended by another's event). fd_watch's destructor calls it.
    void forget(fd_watch& w);

    // Counts, for the benchmarks and tests: epoll_wait calls and turns.
    std::uint64_t waits() const { return waits_; }

    // The loop running on this thread, if any.
    static loop* current();

  private:
    result<void> add_with(int fd, fd_watch& w, std::uint32_t events);
    void run_ready();
    void dispatch(int n);
    void drain_posted();
    int wait_timeout_ms() const;

    net::socket epoll_;
    net::socket wake_;  // eventfd: post() from other threads
    bool stopped_ = false;
    clock::time_point now_;
    timer_heap timers_;
    std::vector<std::coroutine_handle<>> ready_, running_;
    std::vector<epoll_event> events_;
    int dispatching_ = 0;  // events of this turn still to dispatch: [next_, dispatching_)
    int next_ = 0;
    std::uint64_t waits_ = 0;

    std::mutex posted_mutex_;
    std::vector<std::function<void()>> posted_, posted_running_;
};

// A sleep that someone else may end early (a handler's cancel hook, a shutdown): one waiter at
// a time; `co_await a.wait_for(d)` is true when the time passed, false when cancel() ended it.
class alarm {
  public:
    explicit alarm(loop& l) : loop_(l) {}
    ~alarm() { loop_.disarm(timer_); }
    alarm(const alarm&) = delete;
    alarm& operator=(const alarm&) = delete;

    auto wait_for(std::chrono::nanoseconds d) {
        struct awaiter {
            alarm& a;
            clock::time_point at;
            bool await_ready() const noexcept { return a.cancelled_ || at <= clock::now(); }
            void await_suspend(std::coroutine_handle<> h) {
                a.waiter_ = h;
                a.loop_.arm(a.timer_, at);
            }
            bool await_resume() const noexcept { return !a.cancelled_; }
        };
        return awaiter{*this, clock::now() + d};
    }
    // Ends the wait (now or a later one) on the next turn.
    void cancel() {
        cancelled_ = true;
        loop_.disarm(timer_);
        if (waiter_) loop_.schedule(std::exchange(waiter_, {}));
    }

  private:
    static void ring(timer& t) {
        auto& self = *static_cast<alarm*>(t.target);
        std::exchange(self.waiter_, {}).resume();
    }
    loop& loop_;
    timer timer_{&alarm::ring, this};
    std::coroutine_handle<> waiter_;
    bool cancelled_ = false;
};

// The calling thread's private loop, made at first use: what block_on() runs.
loop& thread_loop();

// Runs t on the calling thread's private loop until it ends, and returns its value: how
// blocking faces (blocking_client) use the same coroutine code. Not from inside a loop's turn.
template <class T>
T block_on(task<T> t);

namespace detail {
template <class T>
task<void> run_then_stop(task<T> t, loop& l, std::optional<T>& out, std::exception_ptr& error) {
    try {
        out.emplace(co_await std::move(t));
    } catch (...) {
        error = std::current_exception();
    }
    l.stop();
}
inline task<void> run_then_stop_void(task<void> t, loop& l, std::exception_ptr& error) {
    try {
        co_await std::move(t);
    } catch (...) {
        error = std::current_exception();
    }
    l.stop();
}
}  // namespace detail

template <class T>
T block_on(task<T> t) {
    loop& l = thread_loop();
    std::exception_ptr error;
    if constexpr (std::is_void_v<T>) {
        l.start(detail::run_then_stop_void(std::move(t), l, error));
        l.run();
        if (error) std::rethrow_exception(error);
    } else {
        std::optional<T> out;
        l.start(detail::run_then_stop(std::move(t), l, out, error));
        l.run();
        if (error) std::rethrow_exception(error);
        return std::move(*out);
    }
}

}  // namespace waitless::io
