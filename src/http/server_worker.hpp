// One worker of the server: an io_context on its own thread, its listeners, its connections and
// the timeout lists that its single sweep timer serves. Nothing here is shared between workers.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/basic_socket_acceptor.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/deadline_list.hpp"
#include "http/reactor_watch.hpp"
#include "http/server_readiness.hpp"
#include "waitless/http/server.hpp"
#include "waitless/net/socket.hpp"

namespace waitless::http::detail {

class connection;

// Written by one thread, read by any: a relaxed load and store instead of a locked add.
class counter {
  public:
    void add(std::uint64_t n = 1) {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void sub(std::uint64_t n = 1) {
        value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
    std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

struct worker_counters {
    counter accepted, open, requests, rejected, header_timeouts, idle_timeouts;
    counter time_wait_here, time_wait_peer, reset, not_tcp;
};

enum class timeout_kind { header, idle, io, close_wait };

// A listening descriptor handed to a worker, and whether it is TCP.
struct listener_handle {
    int fd = -1;
    int family = 0;
    bool tcp = true;
};

class worker {
  public:
    worker(const server_options& options, const handler& h, std::size_t connection_limit,
           std::vector<listener_handle> listeners);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    void start();  // the thread
    void join();
    void stop();  // from any thread: graceful shutdown

    // For connections (on this worker's thread).
    const server_options& options() const { return options_; }
    const handler& request_handler() const { return handler_; }
    // Adds a connection's socket to this worker's epoll set, once for its lifetime.
    void watch_socket(int fd, readiness& r);
    bool stopping() const { return stopping_; }
    std::string_view date_line();
    std::string_view keep_alive_line() const { return keep_alive_line_; }
    void watch(deadline_hook& hook, timeout_kind kind);
    void forget(connection& c);  // the connection ends
    worker_counters& counters() { return counters_; }
    const worker_counters& counters() const { return counters_; }
    asio::io_context& context() { return context_; }

  private:
    asio::awaitable<void> accept_loop(std::size_t index);
    asio::awaitable<void> sweep_loop();
    void begin_stop();
    void force_close_all();
    void finish_if_done();
    void run();
    void on_epoll_ready();
    deadline_list& list_for(timeout_kind kind);

    const server_options& options_;
    const handler& handler_;
    std::size_t connection_limit_;
    std::vector<listener_handle> listener_fds_;
    std::string keep_alive_line_;
    std::string date_;
    std::int64_t date_second_ = -1;
    net::socket epoll_fd_;  // the connections' readiness, watched by the context as one fd
    bool stopping_ = false;
    bool finished_ = false;
    worker_counters counters_;
    deadline_list header_list_, idle_list_, io_list_, close_wait_list_;
    std::vector<connection*> connections_;  // index kept in each connection: O(1) removal
    std::thread thread_;

    // Asio objects last: they go before the lists and connections they refer to.
    asio::io_context context_;
    std::vector<std::unique_ptr<asio::basic_socket_acceptor<asio::generic::stream_protocol>>>
        acceptors_;
    asio::steady_timer sweep_timer_;
    clock::time_point sweep_at_ = clock::time_point::max();
    asio::steady_timer slot_timer_;             // an accept loop waits on it while at the limit
    asio::steady_timer drain_timer_;            // shutdown: in-flight requests past it are cut
    std::optional<reactor_watch> epoll_watch_;  // first to go: no callback into a worker gone
};

}  // namespace waitless::http::detail
