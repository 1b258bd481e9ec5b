// One worker of the server: an io::loop on its own thread, its listeners, its connections and
// the timeout lists that its one sweep timer serves. Nothing here is shared between workers.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "waitless/http/server.hpp"
#include "waitless/io/deadline_list.hpp"
#include "waitless/io/fd_watch.hpp"
#include "waitless/io/loop.hpp"
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
    counter accepted, refused, open, requests, rejected, header_timeouts, idle_timeouts;
    counter time_wait_here, time_wait_peer, reset, not_tcp;
};

enum class timeout_kind { header, idle, io, close_wait };

// A listening descriptor handed to a worker, and whether it is TCP.
struct listener_handle {
    int fd = -1;
    bool tcp = true;
    bool resets = false;    // accepted sockets inherit SO_LINGER {1, 0} (reset_on_close)
    bool deferred = false;  // TCP_DEFER_ACCEPT: accepted with the request's first bytes in
};

class worker {
  public:
    // Throws std::system_error when the loop cannot be made (start-up).
    worker(const server_options& options, const handler& h, std::size_t connection_limit,
           std::vector<listener_handle> listeners, std::size_t index = 0);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    void start();  // the thread
    void join();
    void stop();  // from any thread: graceful shutdown

    // For connections (on this worker's thread).
    const server_options& options() const { return options_; }
    const handler& request_handler() const { return handler_; }
    io::loop& loop() { return loop_; }
    bool stopping() const { return stopping_; }
    std::string_view date_line();
    std::string_view keep_alive_line() const { return keep_alive_line_; }
    // (Re)arms hook for a timeout of that kind from now. A head, an idle wait and a close wait
    // are bounded as a whole: a hook already in their list keeps its deadline.
    void watch(io::deadline_hook& hook, timeout_kind kind);
    void forget(connection& c);  // the connection ends
    // Read buffers (all of one size, the connections') that idle keep-alive connections gave
    // back, for whichever connection has bytes to read next: an idle connection holds none.
    // take_buffer() gives null when no memory can be had.
    std::unique_ptr<char[]> take_buffer(std::size_t size);
    void give_buffer(std::unique_ptr<char[]> buffer);
    worker_counters& counters() { return counters_; }
    const worker_counters& counters() const { return counters_; }

  private:
    struct listener {
        net::socket socket;
        io::fd_watch watch;
        bool tcp = true;
        bool resets = false;
        bool deferred = false;
    };

    io::task<void> accept_loop(listener& l);
    // Turns a listener's reports back on after a pause (the limit, EMFILE).
    io::task<void> report_again(listener& l);
    void admit(int fd, const sockaddr_storage& peer, const listener& from);
    static void on_sweep(io::timer& t);
    static void on_drain(io::timer& t);
    void begin_stop();
    void finish_if_done();
    void run();
    io::deadline_list& list_for(timeout_kind kind);

    const server_options& options_;
    std::size_t index_ = 0;
    const handler& handler_;
    std::size_t connection_limit_;
    std::string keep_alive_line_;
    std::string date_;
    std::int64_t date_second_ = -1;
    bool stopping_ = false;
    bool finished_ = false;
    int accepting_ = 0;  // accept loops still running
    worker_counters counters_;
    io::deadline_list header_list_, idle_list_, io_list_, close_wait_list_;
    std::vector<connection*> connections_;  // index kept in each connection: O(1) removal
    std::vector<std::coroutine_handle<>> slot_waiters_;  // accept loops waiting at the limit
    std::vector<std::unique_ptr<char[]>> spare_buffers_;
    std::thread thread_;

    // The loop first: it outlives the watches and timers below, which leave it on destruction.
    io::loop loop_;
    std::vector<std::unique_ptr<listener>> listeners_;
    io::timer sweep_timer_{&worker::on_sweep, this};
    io::timer drain_timer_{&worker::on_drain, this};
};

}  // namespace waitless::http::detail
