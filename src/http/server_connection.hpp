// One server connection: the read buffer the parser works on, the response buffer written
// once per batch, the exchanges run in order, and the close by the server's policy.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "http/deadline_list.hpp"
#include "http/server_readiness.hpp"
#include "http/server_worker.hpp"
#include "waitless/http/exchange.hpp"
#include "waitless/http/parser.hpp"
#include "waitless/net/socket.hpp"

namespace waitless::http::detail {

class connection {
  public:
    connection(worker& owner, net::socket socket, bool tcp);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    asio::awaitable<void> run();

    // From the worker, on its thread.
    void expire();          // the armed deadline passed
    void stop_if_idle();    // shutdown: an idle connection closes now, a busy one after it
    void force_close();     // the drain timeout passed
    std::size_t index = 0;  // in the worker's list
    deadline_hook deadline;

    // The exchange's face.
    const message_head& request() const { return parser_.head(); }
    asio::awaitable<result<std::string_view>> read_body();
    void send(const prepared_response& response);
    void start(int status, std::span<const header_field> fields,
               std::optional<std::uint64_t> content_length);
    asio::awaitable<result<void>> write(std::string_view body);
    void end();
    bool responded() const { return response_.started; }
    bool stopping() const { return owner_.stopping() || !keep_alive_; }

  private:
    enum class read_status { ok, eof, timeout, stopped, failed };
    enum class interrupt { none, timeout, shutdown, forced };
    enum class close_reason { idle, peer_gone, after_response, forced };
    struct response_state {
        bool started = false;
        bool ended = false;
        bool chunked = false;
        bool until_close = false;  // an HTTP/1.0 client and no length
        bool head_only = false;    // a HEAD request: body bytes are dropped
        std::uint64_t remaining = 0;
    };

    // Without waiting: a result, or nothing when the socket must be waited for first.
    std::optional<read_status> read_now();
    asio::awaitable<read_status> read_more(timeout_kind kind);
    // Writes what the socket takes now; true when nothing is left. False with the socket still
    // marked writable: the write failed.
    bool flush_now();
    asio::awaitable<bool> flush();
    asio::awaitable<bool> wait_ready(bool for_write, timeout_kind kind);
    asio::awaitable<void> handle_exchange();
    asio::awaitable<bool> drain_body();
    asio::awaitable<void> close(close_reason reason);
    asio::awaitable<bool> wait_for_peer_close();
    asio::awaitable<void> wait_until_acknowledged();
    void reject(int status);
    bool decide_keep_alive(bool length_known);
    bool needs_room_for_body() const;  // of the head just parsed, where it lies
    bool body_ends_in_buffer() const;  // the unread chunked body, without taking it
    void append_connection_fields();
    void make_room();
    void disarm() { deadline.unlink(); }
    void record_close(int outcome);

    worker& owner_;
    net::socket socket_;
    readiness ready_;
    bool tcp_;
    parser parser_;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_;
    std::size_t begin_ = 0;     // unconsumed bytes start here
    std::size_t end_ = 0;       // and end here
    std::size_t head_end_ = 0;  // while an exchange runs, [.., head_end_) holds its head
    int sync_reads_ = 0;        // reads in a row without waiting
    std::string out_;           // response bytes not yet written
    std::size_t requests_ = 0;
    bool keep_alive_ = true;
    bool idle_wait_ = false;  // suspended waiting for the first byte of a request
    bool body_done_ = false;
    bool continue_sent_ = false;
    bool broken_ = false;  // a response that cannot be completed: close without more
    std::error_code body_error_;
    interrupt interrupt_ = interrupt::none;
    response_state response_;
};

}  // namespace waitless::http::detail
