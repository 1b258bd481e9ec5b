// A worker: accepts on its own listeners, runs its connections' coroutines on its own
// io_context, and expires their deadlines with one timer.
#include "http/server_worker.hpp"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <ctime>
#include <exception>

#include "http/server_connection.hpp"
#include "waitless/net/options.hpp"

namespace waitless::http::detail {
namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// Bugs surface: an exception that escapes a worker coroutine ends the process.
void rethrow(const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);
}

asio::awaitable<void> run_connection(std::unique_ptr<connection> c) { co_await c->run(); }

}  // namespace

worker::worker(const server_options& options, const handler& h, std::size_t connection_limit,
               std::vector<listener_handle> listeners)
    : options_(options),
      handler_(h),
      connection_limit_(connection_limit),
      listener_fds_(std::move(listeners)),
      keep_alive_line_(
          "Keep-Alive: timeout=" +
          std::to_string(
              std::chrono::duration_cast<std::chrono::seconds>(options.idle_timeout).count()) +
          "\r\n"),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      header_list_(options.header_timeout),
      idle_list_(options.idle_timeout),
      io_list_(options.io_timeout),
      close_wait_list_(options.peer_close_wait),
      // One thread runs this context, so the reactor needs no locks; post() from stop() is
      // still safe because the scheduler keeps its own.
      context_(ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      sweep_timer_(context_),
      slot_timer_(context_, clock::time_point::max()),
      drain_timer_(context_) {
    WAITLESS_ASSERT(epoll_fd_.is_open());
    epoll_watch_.emplace(
        context_, epoll_fd_.native_handle(),
        [](void* self) { static_cast<worker*>(self)->on_epoll_ready(); }, this);
    for (const auto& l : listener_fds_) {
        auto acceptor =
            std::make_unique<asio::basic_socket_acceptor<asio::generic::stream_protocol>>(context_);
        std::error_code ec;
        acceptor->assign(asio::generic::stream_protocol(l.family, l.tcp ? IPPROTO_TCP : 0), l.fd,
                         ec);
        WAITLESS_ASSERT(!ec);
        acceptors_.push_back(std::move(acceptor));
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
    for (std::size_t i = 0; i < acceptors_.size(); ++i) {
        asio::co_spawn(context_, accept_loop(i), rethrow);
    }
    asio::co_spawn(context_, sweep_loop(), rethrow);
    context_.run();
}

void worker::watch_socket(int fd, readiness& r) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = &r;
    WAITLESS_ASSERT(::epoll_ctl(epoll_fd_.native_handle(), EPOLL_CTL_ADD, fd, &ev) == 0);
}

void worker::on_epoll_ready() {
    if (finished_) return;
    // Each connection has one event here at most; resuming it inline may end it, never another.
    epoll_event events[256];
    int n = 0;
    do {
        n = ::epoll_wait(epoll_fd_.native_handle(), events, 256, 0);
        for (int i = 0; i < n; ++i) {
            static_cast<readiness*>(events[i].data.ptr)->on_events(events[i].events);
        }
    } while (n == 256);
}

void worker::stop() {
    asio::post(context_, [this] { begin_stop(); });
}

void worker::begin_stop() {
    if (stopping_) return;
    stopping_ = true;
    std::error_code ignored;
    for (auto& a : acceptors_) a->close(ignored);
    slot_timer_.cancel();
    for (auto* c : connections_) c->stop_if_idle();
    drain_timer_.expires_after(options_.drain_timeout);
    drain_timer_.async_wait([this](std::error_code ec) {
        if (!ec) force_close_all();
    });
    finish_if_done();
}

void worker::force_close_all() {
    for (auto* c : connections_) c->force_close();
}

void worker::finish_if_done() {
    if (!stopping_ || finished_ || !connections_.empty()) return;
    finished_ = true;
    sweep_timer_.cancel();
    drain_timer_.cancel();
    slot_timer_.cancel();
    // The epoll watch is no work to the context: with the timers gone, run() returns.
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

deadline_list& worker::list_for(timeout_kind kind) {
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

void worker::watch(deadline_hook& hook, timeout_kind kind) {
    auto& list = list_for(kind);
    // A head and a close wait are bounded as a whole: more bytes do not buy more time.
    const bool whole = kind == timeout_kind::header || kind == timeout_kind::close_wait;
    if (whole && hook.owner == &list) return;
    list.push(hook, clock::now());
    if (hook.at < sweep_at_) {
        sweep_at_ = hook.at;
        sweep_timer_.expires_at(sweep_at_);  // wakes the sweep loop, which waits again
    }
}

asio::awaitable<void> worker::sweep_loop() {
    while (!finished_) {
        sweep_timer_.expires_at(sweep_at_);
        co_await sweep_timer_.async_wait(use_tuple);
        if (finished_) break;
        const auto now = clock::now();
        sweep_at_ = clock::time_point::max();
        for (auto* list : {&header_list_, &idle_list_, &io_list_, &close_wait_list_}) {
            list->expire(now, [](deadline_hook& h) { static_cast<connection*>(h.item)->expire(); });
            if (!list->empty()) sweep_at_ = std::min(sweep_at_, list->front()->at);
        }
    }
}

asio::awaitable<void> worker::accept_loop(std::size_t index) {
    auto& acceptor = *acceptors_[index];
    const bool tcp = listener_fds_[index].tcp;
    for (;;) {
        // At the limit, leave new connections in the kernel's backlog until one closes.
        while (connections_.size() >= connection_limit_ && !stopping_) {
            co_await slot_timer_.async_wait(use_tuple);
        }
        if (stopping_) co_return;
        const int fd =
            ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                auto [ec] = co_await acceptor.async_wait(asio::socket_base::wait_read, use_tuple);
                if (ec || stopping_) co_return;
            } else if (errno != EINTR && errno != ECONNABORTED) {
                // Out of descriptors or memory: let the connections in hand finish some first.
                asio::steady_timer pause(context_, std::chrono::milliseconds(50));
                co_await pause.async_wait(use_tuple);
            }
            continue;
        }
        net::socket socket(fd);
        if (tcp) (void)net::set_nodelay(fd, true);
        auto c = std::make_unique<connection>(*this, std::move(socket), tcp);
        c->index = connections_.size();
        connections_.push_back(c.get());
        counters_.accepted.add();
        counters_.open.add();
        asio::co_spawn(context_, run_connection(std::move(c)), rethrow);
    }
}

void worker::forget(connection& c) {
    const std::size_t at = c.index;
    connections_[at] = connections_.back();
    connections_[at]->index = at;
    connections_.pop_back();
    counters_.open.sub();
    if (connections_.size() + 1 == connection_limit_) slot_timer_.cancel();
    finish_if_done();
}

}  // namespace waitless::http::detail
