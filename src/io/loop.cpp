// The loop's turn: ready queue, epoll_wait bounded by the next timer, events, timers.
#include "waitless/io/loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "waitless/io/fd_watch.hpp"

namespace waitless::io {
namespace {

thread_local loop* current_loop = nullptr;
constexpr int max_events = 256;

}  // namespace

loop::loop()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      now_(clock::now()),
      events_(max_events) {
    if (!epoll_ || !wake_) throw std::system_error(last_system_error(), "io::loop");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up descriptor: no watch
    if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, wake_.native_handle(), &ev) != 0) {
        throw std::system_error(last_system_error(), "io::loop");
    }
    ready_.reserve(64);
    running_.reserve(64);
}

loop::~loop() {
    if (current_loop == this) current_loop = nullptr;
}

loop* loop::current() { return current_loop; }

loop& thread_loop() {
    thread_local loop l;
    return l;
}

clock::time_point loop::refresh_now() { return now_ = clock::now(); }

void loop::post(std::function<void()> fn) {
    {
        std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(fn));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.native_handle(), &one, sizeof one);
}

void loop::drain_posted() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(wake_.native_handle(), &count, sizeof count);
    {
        std::lock_guard lock(posted_mutex_);
        posted_running_.swap(posted_);
    }
    for (auto& fn : posted_running_) fn();
    posted_running_.clear();
}

result<void> loop::add(int fd, fd_watch& w) {
    return add_with(fd, w, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}

void loop::adopt(int fd, fd_watch& w) {
    w.loop_ = this;
    w.pending_fd_ = fd;
}

namespace {
constexpr std::uint32_t listener_events = EPOLLIN | EPOLLEXCLUSIVE;
}  // namespace

result<void> loop::add_listener(int fd, fd_watch& w) { return add_with(fd, w, listener_events); }

result<void> loop::add_with(int fd, fd_watch& w, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &w;
    if (::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        return std::unexpected(last_system_error());
    }
    w.loop_ = this;
    w.pending_fd_ = -1;
    return {};
}

bool loop::reports(int fd, fd_watch& w, bool on) {
    if (!on) {
        return ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr) == 0 ||
               errno == ENOENT;
    }
    const auto added = add_with(fd, w, listener_events);
    return added || added.error() == std::errc::file_exists;
}

void loop::remove(int fd) { ::epoll_ctl(epoll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr); }

void loop::remove(int fd, fd_watch& w) {
    if (w.registered()) remove(fd);
    w.pending_fd_ = -1;
    disarm(w.deadline_);
    forget(w);
    w.loop_ = nullptr;
    w.timed_out_ = false;
    // The next add() reports the descriptor's state afresh as an edge.
    w.readable = w.writable = true;
    w.peer_shut_down = w.failed = false;
}

void loop::forget(fd_watch& w) {
    for (int i = next_; i < dispatching_; ++i) {
        if (events_[static_cast<std::size_t>(i)].data.ptr == &w) {
            events_[static_cast<std::size_t>(i)].data.ptr = &events_;  // a marker: skip it
        }
    }
}

task<void> loop::sleep_until(clock::time_point at) {
    struct awaiter {
        loop& l;
        clock::time_point at;
        timer t{[](timer& self) { std::coroutine_handle<>::from_address(self.target).resume(); }};
        bool await_ready() const { return at <= clock::now(); }
        void await_suspend(std::coroutine_handle<> h) {
            t.target = h.address();
            l.arm(t, at);
        }
        void await_resume() const noexcept {}
    };
    co_await awaiter{*this, at};
}

void loop::run_ready() {
    // Handles scheduled while these run go to the next turn.
    running_.swap(ready_);
    for (auto h : running_) h.resume();
    running_.clear();
}

int loop::wait_timeout_ms() const {
    if (!ready_.empty() || stopped_) return 0;
    if (timers_.empty()) return -1;
    // From the turn's clock, read after the last epoll_wait: a deadline may be met a few
    // microseconds late, never early, and a turn costs one clock read.
    const auto left = timers_.next() - now_;
    if (left <= clock::duration::zero()) return 0;
    // Rounded up: waking before the deadline would only mean another wait.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return ms > 1'000'000 ? 1'000'000 : static_cast<int>(ms);
}

void loop::dispatch(int n) {
    dispatching_ = n;
    for (next_ = 0; next_ < dispatching_;) {
        const auto& ev = events_[static_cast<std::size_t>(next_++)];
        if (ev.data.ptr == nullptr) {
            drain_posted();
        } else if (ev.data.ptr != &events_) {
            static_cast<fd_watch*>(ev.data.ptr)->on_events(ev.events);
        }
    }
    dispatching_ = next_ = 0;
}

void loop::run() {
    loop* const outer = current_loop;
    current_loop = this;
    stopped_ = false;
    while (!stopped_) {
        run_ready();
        if (stopped_) break;
        const int timeout = wait_timeout_ms();
        const int n = ::epoll_wait(epoll_.native_handle(), events_.data(), max_events, timeout);
        ++waits_;
        now_ = clock::now();
        if (n > 0) dispatch(n);
        if (!timers_.empty()) timers_.expire(now_);
    }
    current_loop = outer;
}

}  // namespace waitless::io
