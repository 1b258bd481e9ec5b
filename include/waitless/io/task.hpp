// io::task<T>: a lazy coroutine that runs on a worker's loop. Awaiting a task starts it and
// resumes the awaiter when it ends (symmetric transfer: no queue, no recursion); spawn() runs
// one detached. Network failures are values in T; an exception is a bug and travels to the
// awaiter (a detached task's ends the process).
//
// task<T>::ready(value) is a task that has its result already, with no coroutine behind it:
// the fast path of an operation that usually completes at once (a write the buffer takes, a
// body piece already read) returns one and costs no frame; its slow path is a coroutine.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace waitless::io {

template <class T = void>
class task;

namespace detail {

// Coroutine frames come and go with every wait of every request: a small per-thread cache of
// freed frames by size class saves a malloc and a free each time. A frame freed on another
// thread joins that thread's cache; each class keeps at most `max_cached` frames.
class frame_cache {
  public:
    static void* allocate(std::size_t size) {
        const std::size_t c = size_class(size);
        if (c >= classes) return ::operator new(size);
        auto& list = lists()[c];
        if (list.head == nullptr) return ::operator new((c + 1) * granule);
        node* n = list.head;
        list.head = n->next;
        --list.count;
        return n;
    }
    static void deallocate(void* p, std::size_t size) noexcept {
        const std::size_t c = size_class(size);
        if (c >= classes) {
            ::operator delete(p);
            return;
        }
        auto& list = lists()[c];
        if (list.count >= max_cached) {
            ::operator delete(p);
            return;
        }
        list.head = new (p) node{list.head};
        ++list.count;
    }

  private:
    static constexpr std::size_t granule = 64, classes = 32, max_cached = 1024;
    struct node {
        node* next;
    };
    struct free_list {
        node* head = nullptr;
        std::size_t count = 0;
        free_list() = default;
        free_list(const free_list&) = delete;
        free_list& operator=(const free_list&) = delete;
        ~free_list() {
            while (head != nullptr) ::operator delete(std::exchange(head, head->next));
        }
    };
    static std::size_t size_class(std::size_t size) { return (size + granule - 1) / granule - 1; }
    static free_list* lists() {
        thread_local free_list cache[classes];
        return cache;
    }
};

struct promise_base {
    static void* operator new(std::size_t size) { return frame_cache::allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept {
        frame_cache::deallocate(p, size);
    }

    std::coroutine_handle<> continuation = std::noop_coroutine();
    std::exception_ptr error;

    std::suspend_always initial_suspend() noexcept { return {}; }
    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
            return h.promise().continuation;
        }
        void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
    void unhandled_exception() noexcept { error = std::current_exception(); }
    void rethrow_if_failed() {
        if (error) std::rethrow_exception(error);
    }
};

template <class T>
struct promise : promise_base {
    std::optional<T> value;
    task<T> get_return_object() noexcept;
    template <class U>
    void return_value(U&& v) {
        value.emplace(std::forward<U>(v));
    }
    T take() {
        rethrow_if_failed();
        return std::move(*value);
    }
};

template <>
struct promise<void> : promise_base {
    task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() { rethrow_if_failed(); }
};

}  // namespace detail

namespace detail {

// What a ready task holds: its value, or for task<void> only that it is ready.
template <class T>
struct ready_value {
    std::optional<T> value;
    bool has() const noexcept { return value.has_value(); }
    T take() { return std::move(*value); }
};
template <>
struct ready_value<void> {
    bool ready = false;
    bool has() const noexcept { return ready; }
    void take() noexcept {}
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
  public:
    using promise_type = detail::promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    task() noexcept = default;
    explicit task(handle_type h) noexcept : handle_(h) {}
    task(task&& other) noexcept
        : handle_(std::exchange(other.handle_, {})),
          ready_(std::move(other.ready_)),
          started_(other.started_) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            if (handle_) handle_.destroy();
            handle_ = std::exchange(other.handle_, {});
            ready_ = std::move(other.ready_);
            started_ = other.started_;
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() {
        if (handle_) handle_.destroy();
    }

    template <class... U>
    static task ready(U&&... value) {
        task t;
        if constexpr (std::is_void_v<T>) {
            static_assert(sizeof...(U) == 0);
            t.ready_.ready = true;
        } else {
            t.ready_.value.emplace(std::forward<U>(value)...);
        }
        return t;
    }

    bool valid() const noexcept { return handle_ || ready_.has(); }

    // Runs the task here and now up to its first wait, or to its end: true when it ended.
    // Awaiting it afterwards resumes the awaiter when it ends, as awaiting it unstarted would.
    bool start() {
        if (!handle_ || handle_.done()) return true;
        if (!started_) {
            started_ = true;
            handle_.resume();
        }
        return handle_.done();
    }

    auto operator co_await() && noexcept {
        struct awaiter {
            handle_type h;
            detail::ready_value<T> ready;
            bool started;
            bool await_ready() const noexcept { return !h || h.done(); }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<> waiting) noexcept {
                h.promise().continuation = waiting;
                if (started) return std::noop_coroutine();  // it runs on from its wait
                return h;
            }
            T await_resume() {
                if (!h) return ready.take();
                return h.promise().take();
            }
        };
        return awaiter{handle_, std::move(ready_), started_};
    }

    // Hands the frame over (null for a ready task).
    handle_type release() noexcept { return std::exchange(handle_, {}); }

  private:
    handle_type handle_;
    detail::ready_value<T> ready_;
    bool started_ = false;  // start() ran it up to a wait
};

namespace detail {

template <class T>
task<T> promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<promise<T>>::from_promise(*this));
}
inline task<void> promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<promise<void>>::from_promise(*this));
}

// The frame of a detached task: starts at once, frees itself at the end.
struct detached {
    struct promise_type {
        detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        [[noreturn]] void unhandled_exception() noexcept { std::terminate(); }
    };
};

inline detached run_detached(task<void> t) { co_await std::move(t); }

// The same, started later by whoever resumes the handle it returns (a loop's ready queue).
struct deferred {
    struct promise_type {
        deferred get_return_object() noexcept {
            return {std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        [[noreturn]] void unhandled_exception() noexcept { std::terminate(); }
    };
    std::coroutine_handle<> handle;
};

inline deferred run_deferred(task<void> t) { co_await std::move(t); }

}  // namespace detail

// Starts t now, on the caller's thread, up to its first suspension; it frees itself at its end.
// An exception that escapes it ends the process: a bug must not go unseen.
inline void spawn(task<void> t) { detail::run_detached(std::move(t)); }

// Runs a and b at once and completes when both have ended (full duplex: a read loop and a
// write loop of one connection). An exception from either is rethrown after both ended.
inline task<void> when_all(task<void> a, task<void> b) {
    struct joint {
        int left = 2;
        std::coroutine_handle<> waiting;
        std::exception_ptr error;
    };
    struct arm {
        static detail::detached run(task<void> t, joint& j) {
            try {
                co_await std::move(t);
            } catch (...) {
                if (!j.error) j.error = std::current_exception();
            }
            if (--j.left == 0) j.waiting.resume();
        }
    };
    struct join_awaiter {
        joint& j;
        task<void>& a;
        task<void>& b;
        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> h) {
            j.waiting = h;
            j.left = 3;  // the two arms and this suspension: neither arm may resume us early
            arm::run(std::move(a), j);
            arm::run(std::move(b), j);
            return --j.left != 0;  // both ended already: go on without suspending
        }
        void await_resume() const noexcept {}
    };
    joint j;
    co_await join_awaiter{j, a, b};
    if (j.error) std::rethrow_exception(j.error);
}

}  // namespace waitless::io
