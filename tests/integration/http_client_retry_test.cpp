// The client against a tiny raw-socket server that misbehaves on purpose: the retry-once rules,
// the Keep-Alive timeout honoured, and the connect and response-header timeouts.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/net/error.hpp"
#include "waitless/net/listen.hpp"

namespace waitless::http {
namespace {

using namespace std::chrono_literals;

struct behaviour {
    // After this many responses on a connection, read the next request and close without a
    // word (as a server that reached its limit or timed out at the worst moment).
    std::size_t answers_per_connection = std::numeric_limits<std::size_t>::max();
    std::string extra_fields;                 // e.g. "Keep-Alive: timeout=2\r\n"
    std::chrono::milliseconds idle_close{0};  // close a connection idle this long; 0: never
    bool never_answer = false;
};

behaviour drops_after(std::size_t answers) {
    behaviour b;
    b.answers_per_connection = answers;
    return b;
}
behaviour silent() {
    behaviour b;
    b.never_answer = true;
    return b;
}
behaviour advertising(std::string fields, std::chrono::milliseconds idle_close = 0ms) {
    behaviour b;
    b.extra_fields = std::move(fields);
    b.idle_close = idle_close;
    return b;
}

// One thread per connection; requests are heads plus an optional Content-Length body.
class raw_server {
  public:
    explicit raw_server(behaviour b) : behaviour_(std::move(b)) {
        auto l = net::listen(net::endpoint::loopback_v4());
        EXPECT_TRUE(l);
        listener_ = std::move(*l);
        port_ = net::local_endpoint(listener_.native_handle())->port;
        acceptor_ = std::jthread([this](std::stop_token stop) { accept_loop(stop); });
    }
    ~raw_server() {
        acceptor_.request_stop();
        acceptor_.join();
        handlers_.clear();  // jthreads: stop and join
    }
    std::string url(std::string_view path = "/") const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }
    std::string origin() const { return "127.0.0.1:" + std::to_string(port_); }

    std::atomic<int> connections{0};
    std::atomic<int> requests{0};
    std::atomic<int> dropped{0};  // requests read and left without an answer

  private:
    void accept_loop(const std::stop_token& stop) {
        while (!stop.stop_requested()) {
            auto s = net::accept(listener_.native_handle(), 50ms);
            if (!s) continue;
            ++connections;
            handlers_.emplace_back([this, fd = s->release()](std::stop_token st) {
                serve(fd, st);
                ::close(fd);
            });
        }
    }

    // Waits for bytes up to `limit` (in slices, to notice stop); false on timeout or stop.
    static bool readable(int fd, std::chrono::milliseconds limit, const std::stop_token& stop) {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (!stop.stop_requested()) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 20) > 0) return true;
            if (limit.count() > 0 && std::chrono::steady_clock::now() >= until) return false;
        }
        return false;
    }

    void serve(int fd, const std::stop_token& stop) {
        std::string in;
        std::size_t answered = 0;
        char buf[4096];
        for (;;) {
            // One request: the head, then Content-Length bytes.
            std::size_t head_end = std::string::npos;
            std::size_t need = 0;
            for (;;) {
                if (head_end == std::string::npos) {
                    head_end = in.find("\r\n\r\n");
                    if (head_end != std::string::npos) {
                        head_end += 4;
                        const auto at = in.find("Content-Length: ");
                        if (at != std::string::npos && at < head_end) {
                            std::from_chars(in.data() + at + 16, in.data() + head_end, need);
                        }
                    }
                }
                if (head_end != std::string::npos && in.size() >= head_end + need) break;
                if (!readable(fd, behaviour_.idle_close, stop)) return;
                const auto n = ::recv(fd, buf, sizeof buf, 0);
                if (n <= 0) return;
                in.append(buf, static_cast<std::size_t>(n));
            }
            in.erase(0, head_end + need);
            ++requests;
            if (behaviour_.never_answer) {
                readable(fd, 0ms, stop);
                return;
            }
            if (answered == behaviour_.answers_per_connection) {
                ++dropped;
                return;  // closed by the caller: a FIN, no answer
            }
            ++answered;
            const std::string out =
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + behaviour_.extra_fields + "\r\nok";
            if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) return;
        }
    }

    behaviour behaviour_;
    net::socket listener_;
    std::uint16_t port_ = 0;
    std::vector<std::jthread> handlers_;  // only the acceptor thread adds, before join
    std::jthread acceptor_;
};

struct owned_request {
    explicit owned_request(std::string u, std::string_view method = "GET") : url(std::move(u)) {
        r.url = url;
        r.method = method;
    }
    owned_request(const owned_request&) = delete;
    std::string url;
    client_request r;
};

TEST(HttpClientRetry, AReplayableRequestIsRetriedOnceOnAFreshConnection) {
    raw_server server(drops_after(2));
    client c(io::thread_loop());
    owned_request get(server.url("/x"));
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(io::block_on(c.request(get.r)));
    // The third request goes out on the reused connection; the server reads it and closes.
    auto third = io::block_on(c.request(get.r));
    ASSERT_TRUE(third) << third.error().message();
    EXPECT_EQ(third->body, "ok");
    EXPECT_EQ(server.dropped.load(), 1);
    EXPECT_EQ(c.stats().retries, 1u);
    EXPECT_EQ(c.pool_stats(server.origin())->created, 2u);
}

TEST(HttpClientRetry, APostIsNeverRetried) {
    raw_server server(drops_after(1));
    client c(io::thread_loop());
    owned_request get(server.url("/x"));
    ASSERT_TRUE(io::block_on(c.request(get.r)));
    owned_request post(server.url("/x"), "POST");
    post.r.body = "payload";
    auto failed = io::block_on(c.request(post.r));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error(), client_errc::peer_closed_before_response);
    EXPECT_EQ(c.stats().retries, 0u);
    EXPECT_EQ(server.requests.load(), 2) << "sent once, not twice";
}

TEST(HttpClientRetry, AStreamedBodyIsRetriedOnlyWhenItCanRewind) {
    raw_server server(drops_after(1));
    client c(io::thread_loop());
    owned_request get(server.url("/x"));
    const std::string payload = "streamed payload";
    bool given = false;
    auto make_source = [&](bool rewindable) {
        body_source s;
        s.length = payload.size();
        s.next = [&]() -> result<std::string_view> {
            if (given) return std::string_view();
            given = true;
            return std::string_view(payload);
        };
        if (rewindable) s.rewind = [&] { return !(given = false); };
        return s;
    };
    ASSERT_TRUE(io::block_on(c.request(get.r)));
    owned_request put(server.url("/x"), "PUT");
    put.r.source = make_source(false);
    auto failed = io::block_on(c.request(put.r));
    ASSERT_FALSE(failed) << "a PUT whose body cannot be produced again is not replayed";
    EXPECT_EQ(failed.error(), client_errc::peer_closed_before_response);
    EXPECT_EQ(c.stats().retries, 0u);

    ASSERT_TRUE(io::block_on(c.request(get.r)));  // a new connection, now reused next
    given = false;
    put.r.source = make_source(true);
    auto retried = io::block_on(c.request(put.r));
    ASSERT_TRUE(retried) << retried.error().message();
    EXPECT_EQ(c.stats().retries, 1u);
}

TEST(HttpClientRetry, TheKeepAliveTimeoutIsHonouredWithItsMargin) {
    raw_server server(advertising("Keep-Alive: timeout=2\r\n", 2000ms));
    client_options o;
    o.keep_alive_margin = 1000ms;
    client c(io::thread_loop(), o);
    owned_request get(server.url("/x"));
    for (int i = 0; i < 3; ++i) {
        if (i > 0) std::this_thread::sleep_for(1500ms);
        auto resp = io::block_on(c.request(get.r));
        ASSERT_TRUE(resp) << i << ": " << resp.error().message();
    }
    const auto st = c.stats();
    EXPECT_EQ(st.retries, 0u) << "never sent on a connection the server was closing";
    EXPECT_EQ(st.failures, 0u);
    EXPECT_EQ(st.keep_alive_expired, 2u) << "1.5 s idle is past 2 s - 1 s";
    EXPECT_EQ(c.pool_stats(server.origin())->created, 3u);
    EXPECT_EQ(server.dropped.load(), 0);
}

TEST(HttpClientRetry, WithinTheKeepAliveTimeoutTheConnectionIsReused) {
    raw_server server(advertising("Keep-Alive: timeout=5\r\n"));
    client c(io::thread_loop());
    owned_request get(server.url("/x"));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(io::block_on(c.request(get.r)));
    EXPECT_EQ(c.pool_stats(server.origin())->created, 1u);
    EXPECT_EQ(c.stats().keep_alive_expired, 0u);
}

TEST(HttpClientRetry, ResponseHeaderTimeout) {
    raw_server server(silent());
    client_options o;
    o.response_header_timeout = 300ms;
    client c(io::thread_loop(), o);
    owned_request get(server.url("/x"));
    const auto start = std::chrono::steady_clock::now();
    auto r = io::block_on(c.request(get.r));
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), client_errc::response_header_timeout);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
}

TEST(HttpClientRetry, BlockingFaceTimesOutToo) {
    raw_server server(silent());
    client_options o;
    o.response_header_timeout = 200ms;
    blocking_client c(o);
    owned_request get(server.url("/x"));
    auto r = c.request(get.r);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), client_errc::response_header_timeout);
}

TEST(HttpClientRetry, ConnectTimeoutAndRefusal) {
    // A listener with a full backlog that never accepts drops further SYNs.
    net::listen_options lo;
    lo.backlog = 0;
    auto full = net::listen(net::endpoint::loopback_v4(), lo);
    ASSERT_TRUE(full);
    const auto port = net::local_endpoint(full->native_handle())->port;
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    client_options o;
    o.connect.timeout = 200ms;
    o.response_header_timeout = 200ms;  // for the connections the backlog took
    o.max_connections_per_origin = 4;
    blocking_client c(o);
    owned_request get(url);
    std::error_code last;
    for (int i = 0; i < 4 && last != net::errc::connect_timeout; ++i) {
        auto r = c.request(get.r);  // the first ones may fill the backlog
        if (!r) last = r.error();
    }
    EXPECT_EQ(last, net::errc::connect_timeout) << last.message();

    full->reset();  // nobody listens now
    blocking_client other(o);
    auto refused = other.request(get.r);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), std::errc::connection_refused) << refused.error().message();
}

TEST(HttpClientRetry, BadUrlsAndFieldsAreRejected) {
    blocking_client c;
    owned_request bad("ftp://127.0.0.1/");
    EXPECT_EQ(c.request(bad.r).error(), client_errc::invalid_url);
    owned_request crlf("http://127.0.0.1:1/");
    const header_field evil{"X-A", "b\r\nInjected: yes"};
    crlf.r.headers = {&evil, 1};
    EXPECT_EQ(c.request(crlf.r).error(), client_errc::invalid_request);
    // Fields the caller vouches for are not scanned again, but framing stays the client's.
    owned_request framed("http://127.0.0.1:1/");
    const header_field length{"Content-Length", "5"};
    framed.r.headers = {&length, 1};
    framed.r.fields_checked = true;
    EXPECT_EQ(c.request(framed.r).error(), client_errc::invalid_request);
}

TEST(HttpClientRetry, AKnownOriginWhoseNameBeginsAnotherURLDoesNotCatchIt) {
    raw_server server(drops_after(100));
    client_options o;
    o.connect.timeout = 200ms;
    o.response_header_timeout = 500ms;  // should something silent listen at the other port
    blocking_client c(o);
    // "127.0.0.1:4123" before "127.0.0.1:41234": the first origin's URL begins the second's.
    const std::string shorter = server.origin().substr(0, server.origin().size() - 1);
    owned_request first("http://" + shorter + "/");
    (void)c.request(first.r);  // whatever is at that port, the origin is known now
    ASSERT_TRUE(c.pool_stats(shorter));
    owned_request get(server.url("/x"));
    auto r = c.request(get.r);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->body, "ok");
    owned_request capitals("HTTP://" + server.origin() + "/y");
    ASSERT_TRUE(c.request(capitals.r));
    EXPECT_EQ(server.requests.load(), 2);
    EXPECT_EQ(c.pool_stats(server.origin())->created, 1u);  // one origin for both spellings
    owned_request query_only("http://" + server.origin() + "?q");
    EXPECT_EQ(c.request(query_only.r).error(), client_errc::invalid_url);
}

}  // namespace
}  // namespace waitless::http
