// A worker: accepts on its own listeners, runs its connections' coroutines on its own loop, and
// expires their deadlines with one timer.
#include "http/server_worker.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>
#include <new>

#include "http/server_connection.hpp"
#include "waitless/net/options.hpp"

namespace waitless::http::detail {
namespace {

io::task<void> run_connection(std::unique_ptr<connection> c) { co_await c->run(); }

// "Keep-Alive: timeout=N" in whole seconds, rounded down so that a client that trusts it never
// reuses a connection the server is closing. Below a second nothing true can be said in whole
// seconds (timeout=0 would read as "do not reuse" or as nothing): then no field, and clients
// rely on their own idle limits and the staleness check.
std::string keep_alive_line_for(std::chrono::milliseconds idle_timeout) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(idle_timeout).count();
    if (seconds < 1) return {};
    return "Keep-Alive: timeout=" + std::to_string(seconds) + "\r\n";
}

}  // namespace

worker::worker(const server_options& options, const handler& h, std::size_t connection_limit,
               std::vector<listener_handle> listeners, std::size_t index)
    : options_(options),
      index_(index),
      handler_(h),
      connection_limit_(connection_limit),
      keep_alive_line_(keep_alive_line_for(options.idle_timeout)),
      header_list_(options.header_timeout),
      idle_list_(options.idle_timeout),
      io_list_(options.io_timeout),
      close_wait_list_(options.peer_close_wait) {
    // The descriptors are this worker's from here on, whatever happens below.
    for (const auto& l : listeners) {
        auto entry = std::make_unique<listener>();
        entry->socket = net::socket(l.fd);
        entry->tcp = l.tcp;
        entry->resets = l.resets;
        entry->deferred = l.deferred;
        listeners_.push_back(std::move(entry));
    }
    for (auto& l : listeners_) {
        if (auto added = loop_.add_listener(l->socket.native_handle(), l->watch); !added) {
            throw std::system_error(added.error(), "cannot watch a listener");
        }
    }
}

worker::~worker() { join(); }

void worker::start() {
    thread_ = std::thread([this] { run(); });
}

void worker::join() {
    if (thread_.joinable()) thread_.join();
}

void worker::run() {
    if (options_.on_worker_start) options_.on_worker_start(index_, loop_);
    for (auto& l : listeners_) {
        ++accepting_;
        loop_.start(accept_loop(*l));
    }
    loop_.run();
    if (options_.on_worker_stop) options_.on_worker_stop(index_, loop_);
}

void worker::stop() {
    loop_.post([this] { begin_stop(); });
}

void worker::begin_stop() {
    if (stopping_) return;
    stopping_ = true;
    for (auto& l : listeners_) l->watch.cancel();
    for (auto h : slot_waiters_) loop_.schedule(h);
    slot_waiters_.clear();
    for (auto* c : connections_) c->stop_if_idle();
    loop_.arm(drain_timer_, io::clock::now() + options_.drain_timeout);
    finish_if_done();
}

void worker::on_drain(io::timer& t) {
    auto& self = *static_cast<worker*>(t.target);
    for (auto* c : self.connections_) c->force_close();
}

void worker::finish_if_done() {
    if (!stopping_ || finished_ || !connections_.empty() || accepting_ > 0) return;
    finished_ = true;
    loop_.disarm(sweep_timer_);
    loop_.disarm(drain_timer_);
    loop_.stop();
}

std::string_view worker::date_line() {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (now.tv_sec != date_second_) {
        date_second_ = now.tv_sec;
        date_ = format_date_line(now.tv_sec);
    }
    return date_;
}

io::deadline_list& worker::list_for(timeout_kind kind) {
    switch (kind) {
        case timeout_kind::header:
            return header_list_;
        case timeout_kind::idle:
            return idle_list_;
        case timeout_kind::io:
            return io_list_;
        case timeout_kind::close_wait:
            break;
    }
    return close_wait_list_;
}

void worker::watch(io::deadline_hook& hook, timeout_kind kind) {
    auto& list = list_for(kind);
    if (kind != timeout_kind::io && hook.owner == &list) return;
    // The turn's clock: deadlines are whole milliseconds, a turn is far shorter.
    list.push(hook, loop_.now());
    if (!sweep_timer_.armed() || hook.at < sweep_timer_.at) loop_.arm(sweep_timer_, hook.at);
}

void worker::on_sweep(io::timer& t) {
    auto& self = *static_cast<worker*>(t.target);
    const auto now = self.loop_.now();
    auto next = io::clock::time_point::max();
    for (auto* list :
         {&self.header_list_, &self.idle_list_, &self.io_list_, &self.close_wait_list_}) {
        list->expire(now, [](io::deadline_hook& h) { static_cast<connection*>(h.item)->expire(); });
        if (!list->empty()) next = std::min(next, list->front()->at);
    }
    if (next != io::clock::time_point::max()) self.loop_.arm(self.sweep_timer_, next);
}

void worker::admit(int fd, const sockaddr_storage& peer, const listener& from) {
    net::socket socket(fd);
    std::optional<net::endpoint> peer_endpoint;
    if (from.tcp) {
        if (auto e = net::to_endpoint(peer)) peer_endpoint = *e;
    }
    std::unique_ptr<connection> c;
    try {
        c = std::make_unique<connection>(*this, std::move(socket), peer_endpoint, from.resets);
    } catch (const std::bad_alloc&) {
        counters_.refused.add();  // the socket closed with the unwinding: a FIN or nothing
        return;
    }
    c->index = connections_.size();
    connections_.push_back(c.get());
    counters_.open.add();
    if (!c->open(from.deferred)) {
        counters_.refused.add();  // no room in epoll (ENOSPC, ENOMEM): this one only
        return;                   // its destructor takes it off the list
    }
    counters_.accepted.add();
    // Runs at once up to its first wait: at once through its first request when the listener
    // deferred the accept until it came, else up to the first read, and the next turn's
    // epoll_wait reports this connection's request with those of the others accepted now.
    io::spawn(run_connection(std::move(c)));
}

namespace {
constexpr auto retry_pause = std::chrono::milliseconds(50);
}  // namespace

io::task<void> worker::report_again(listener& l) {
    // Without its reports the listener would be deaf: try again until epoll takes it.
    while (!loop_.reports(l.socket.native_handle(), l.watch, true) && !stopping_) {
        co_await loop_.sleep_for(retry_pause);
    }
}

io::task<void> worker::accept_loop(listener& l) {
    const int fd = l.socket.native_handle();
    for (;;) {
        // At the limit, leave new connections in the kernel's backlog until one closes.
        if (connections_.size() >= connection_limit_ && !stopping_) {
            (void)loop_.reports(fd, l.watch, false);
            while (connections_.size() >= connection_limit_ && !stopping_) {
                struct slot_wait {
                    std::vector<std::coroutine_handle<>>& waiters;
                    bool await_ready() const noexcept { return false; }
                    void await_suspend(std::coroutine_handle<> h) { waiters.push_back(h); }
                    void await_resume() const noexcept {}
                };
                co_await slot_wait{slot_waiters_};
            }
            co_await report_again(l);
        }
        if (stopping_) break;
        sockaddr_storage peer{};
        socklen_t length = sizeof peer;
        const int accepted = ::accept4(fd, reinterpret_cast<sockaddr*>(&peer), &length,
                                       SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (accepted >= 0) admit(accepted, peer, l);
        if (accepted >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
            errno == ECONNABORTED) {
            // One connection per report, as nginx takes them: the listener is level-triggered,
            // so the next turn reports it again while more wait, and no accept4 is spent on an
            // empty backlog.
            l.watch.readable = false;
            if (co_await l.watch.readable_wait()) break;  // cancelled: the worker stops
        } else {
            // Out of descriptors or memory: let the connections in hand finish some first.
            (void)loop_.reports(fd, l.watch, false);
            co_await loop_.sleep_for(retry_pause);
            co_await report_again(l);
        }
    }
    // Closed now: SO_REUSEPORT sends no more connections here, and the kernel resets those
    // still waiting in the backlog.
    loop_.remove(fd);
    l.socket.reset();
    --accepting_;
    finish_if_done();
}

std::unique_ptr<char[]> worker::take_buffer(std::size_t size) {
    if (!spare_buffers_.empty()) {
        auto b = std::move(spare_buffers_.back());
        spare_buffers_.pop_back();
        return b;
    }
    return std::unique_ptr<char[]>(new (std::nothrow) char[size]);
}

void worker::give_buffer(std::unique_ptr<char[]> buffer) {
    // A few kept for the next reads; the rest go back to the allocator.
    if (spare_buffers_.size() < 64) spare_buffers_.push_back(std::move(buffer));
}

void worker::forget(connection& c) {
    const std::size_t at = c.index;
    connections_[at] = connections_.back();
    connections_[at]->index = at;
    connections_.pop_back();
    counters_.open.sub();
    if (!slot_waiters_.empty() && connections_.size() < connection_limit_) {
        for (auto h : slot_waiters_) loop_.schedule(h);
        slot_waiters_.clear();
    }
    finish_if_done();
}

}  // namespace waitless::http::detail
