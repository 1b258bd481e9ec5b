// When epoll refuses a descriptor (ENOSPC once a user's fs.epoll.max_user_watches are used up,
// ENOMEM), that one connection is refused and counted, and the loop goes on serving. The kernel
// gives these errors only at a machine-wide limit that a test must not lower on a shared host,
// so this executable (its own, for that reason) interposes epoll_ctl: the next `failures`
// EPOLL_CTL_ADD calls fail with `failure`. Everything else reaches the kernel.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>

#include "integration/http_serve_process.hpp"
#include "unit/http/running_server.hpp"
#include "waitless/http/client.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

namespace {
std::atomic<int> failures{0};
std::atomic<int> failure{ENOSPC};
std::atomic<pid_t> failing_thread{0};  // 0: any thread
}  // namespace

extern "C" int epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
    const pid_t only = failing_thread.load();
    if (op == EPOLL_CTL_ADD && (only == 0 || only == ::gettid())) {
        int left = failures.load();
        while (left > 0 && !failures.compare_exchange_weak(left, left - 1)) {
        }
        if (left > 0) {
            errno = failure.load();
            return -1;
        }
    }
    return static_cast<int>(::syscall(SYS_epoll_ctl, epfd, op, fd, event));
}

namespace waitless::http {
namespace {

using namespace std::chrono_literals;
using test::get;
using test::raw_client;

io::task<void> hello(exchange& ex) {
    (void)ex.start(200, {}, 6);
    (void)co_await ex.write("hello\n");
    ex.end();
}

void fail_next_adds(int count, int error, pid_t thread = 0) {
    failing_thread = thread;
    failure = error;
    failures = count;
}

class EpollFull : public ::testing::TestWithParam<int> {
  protected:
    void TearDown() override { fail_next_adds(0, ENOSPC); }
};

server_options accepted_before_the_request() {
    server_options o;
    o.defer_accept = std::chrono::seconds(0);  // each connection enters epoll at accept
    return o;
}

TEST_P(EpollFull, TheServerRefusesThatConnectionCountsItAndServesTheNext) {
    running_server rs(hello, accepted_before_the_request());
    fail_next_adds(2, GetParam());  // the worker's thread: the test's raw clients use no epoll
    for (int i = 0; i < 2; ++i) {
        raw_client refused(rs.port);
        ASSERT_TRUE(refused.connected());
        refused.send(get());
        EXPECT_TRUE(refused.read_responses(1).empty()) << "closed without an answer";
    }
    EXPECT_EQ(failures.load(), 0);
    raw_client served(rs.port);
    ASSERT_TRUE(served.send(get() + get()));
    const auto r = served.read_responses(2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1].body, "hello\n");
    const auto stats = rs.s.stats();
    EXPECT_EQ(stats.connections_refused, 2u);
    EXPECT_EQ(stats.connections_accepted, 1u) << "the refused ones are not counted as served";
}

// With TCP_DEFER_ACCEPT (the default) a connection comes with its request and enters epoll
// only when it must wait: one that is answered and closed at once never does.
TEST_P(EpollFull, ARequestThatCameWithTheAcceptIsAnsweredWithoutEpoll) {
    server_options o;
    o.close_policy = server_close_policy::graceful;  // its close waits for nothing either
    running_server rs(hello, o);
    fail_next_adds(1, GetParam());
    for (int i = 0; i < 3; ++i) {
        raw_client c(rs.port);
        ASSERT_TRUE(c.send(get("/", "Connection: close\r\n")));
        const auto r = c.read_responses(1);
        ASSERT_EQ(r.size(), 1u);
        EXPECT_EQ(r[0].body, "hello\n");
        EXPECT_EQ(c.next_event(2s), 0) << "closed after its answer";
    }
    EXPECT_EQ(failures.load(), 1) << "no epoll_ctl(EPOLL_CTL_ADD) was made";
    EXPECT_EQ(rs.s.stats().connections_refused, 0u);
}

// ... and one that stays (keep-alive) enters epoll at its first wait: refused there, it is
// counted and cut like one refused at accept, and the next is served.
TEST_P(EpollFull, AKeptAliveConnectionRefusedAtItsFirstWaitIsCountedAndCut) {
    running_server rs(hello);
    fail_next_adds(1, GetParam());
    {
        raw_client refused(rs.port);
        ASSERT_TRUE(refused.send(get()));
        EXPECT_EQ(refused.read_responses(1).size(), 1u) << "its request came with the accept";
        const int then = refused.next_event(2s);
        EXPECT_TRUE(then == 0 || then == -ECONNRESET) << "then cut, not left open: " << then;
    }
    EXPECT_EQ(failures.load(), 0);
    raw_client served(rs.port);
    ASSERT_TRUE(served.send(get()));
    ASSERT_EQ(served.read_responses(1).size(), 1u);
    std::this_thread::sleep_for(50ms);  // the other side of the next request's wait
    ASSERT_TRUE(served.send(get()));
    EXPECT_EQ(served.read_responses(1).size(), 1u) << "this one is in epoll";
    const auto stats = rs.s.stats();
    EXPECT_EQ(stats.connections_refused, 1u);
    EXPECT_EQ(stats.connections_accepted, 2u);
}

TEST_P(EpollFull, TheClientFailsThatRequestWithTheErrorAndTheNextSucceeds) {
    running_server rs(hello);
    client c(io::thread_loop());
    const std::string url = "http://127.0.0.1:" + std::to_string(rs.port) + "/";
    client_request r;
    r.url = url;
    fail_next_adds(1, GetParam(), ::gettid());  // the client runs on this thread's loop
    auto refused = io::block_on(c.request(r));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), std::errc{GetParam()}) << refused.error().message();
    EXPECT_EQ(failures.load(), 0);
    auto served = io::block_on(c.request(r));
    ASSERT_TRUE(served) << served.error().message();
    EXPECT_EQ(served->body, "hello\n");
    EXPECT_EQ(c.stats().failures, 1u);
    EXPECT_EQ(c.stats().requests, 1u);
}

std::string error_name(const ::testing::TestParamInfo<int>& param) {
    return param.param == ENOSPC ? "ENOSPC" : "ENOMEM";
}
INSTANTIATE_TEST_SUITE_P(Errors, EpollFull, ::testing::Values(ENOSPC, ENOMEM), error_name);

}  // namespace
}  // namespace waitless::http
