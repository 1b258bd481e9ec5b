#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "unit/net/loopback_pair.hpp"
#include "waitless/io/fd_watch.hpp"
#include "waitless/io/loop.hpp"

// Coroutine lambdas take what they use as parameters (a capture would dangle once the lambda
// object is gone), named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::io {
namespace {

using namespace std::chrono_literals;

// Reads until EAGAIN; clears the watch's flag like a connection does.
std::string drain(int fd, fd_watch& w) {
    std::string got;
    char buf[4096];
    for (;;) {
        const auto n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) {
            if (n < 0) w.readable = false;
            return got;
        }
        got.append(buf, static_cast<std::size_t>(n));
    }
}

TEST(FdWatch, AReaderResumesWhenBytesArrive) {
    auto pair = net::test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    loop l;
    fd_watch w;
    ASSERT_TRUE(l.add(pair.server.native_handle(), w).has_value());
    std::string got;
    l.start([](fd_watch& w, int fd, std::string& got, loop& l) -> task<void> {
        drain(fd, w);  // nothing yet: clears the flag
        EXPECT_FALSE(w.readable);
        auto ec = co_await w.readable_wait();
        EXPECT_FALSE(ec);
        got = drain(fd, w);
        l.stop();
    }(w, pair.server.native_handle(), got, l));
    l.post([&] { ASSERT_EQ(::send(pair.client.native_handle(), "ping", 4, 0), 4); });
    l.run();
    EXPECT_EQ(got, "ping");
}

TEST(FdWatch, AFinThatCameWithTheLastDataIsSeen) {
    auto pair = net::test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    ASSERT_EQ(::send(pair.client.native_handle(), "last", 4, 0), 4);
    ASSERT_EQ(::shutdown(pair.client.native_handle(), SHUT_WR), 0);
    loop l;
    fd_watch w;
    ASSERT_TRUE(l.add(pair.server.native_handle(), w).has_value());
    // One turn delivers the edge (data and FIN together).
    l.start([](loop& l) -> task<void> {
        co_await l.sleep_for(10ms);
        l.stop();
    }(l));
    l.run();
    EXPECT_TRUE(w.peer_shut_down);
    EXPECT_EQ(drain(pair.server.native_handle(), w), "last");
}

TEST(FdWatch, ADeadlineEndsTheWaitWithTimedOut) {
    auto pair = net::test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    loop l;
    fd_watch w;
    ASSERT_TRUE(l.add(pair.server.native_handle(), w).has_value());
    std::error_code ec;
    const auto start = clock::now();
    l.start([](fd_watch& w, int fd, std::error_code& ec, loop& l) -> task<void> {
        drain(fd, w);
        w.set_deadline(clock::now() + 30ms);
        ec = co_await w.readable_wait();
        l.stop();
    }(w, pair.server.native_handle(), ec, l));
    l.run();
    EXPECT_EQ(ec, std::errc::timed_out);
    EXPECT_GE(clock::now() - start, 30ms);
    EXPECT_TRUE(w.timed_out());
    w.clear_deadline();
    EXPECT_FALSE(w.timed_out());
}

// Fills fd's send buffer, so that it is not writable until the peer reads.
void fill(int fd) {
    std::string block(65536, 'x');
    while (::send(fd, block.data(), block.size(), MSG_DONTWAIT) > 0) {
    }
}

TEST(FdWatch, CancelEndsBothWaits) {
    auto pair = net::test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    fill(pair.server.native_handle());
    loop l;
    fd_watch w;
    ASSERT_TRUE(l.add(pair.server.native_handle(), w).has_value());
    std::error_code read_ec, write_ec;
    l.start(
        [](fd_watch& w, int fd, std::error_code& r, std::error_code& wr, loop& l) -> task<void> {
            drain(fd, w);
            w.writable = false;  // the send that met EAGAIN
            auto reader = [](fd_watch& w, std::error_code& out) -> task<void> {
                out = co_await w.readable_wait();
            };
            auto writer = [](fd_watch& w, std::error_code& out) -> task<void> {
                out = co_await w.writable_wait();
            };
            auto canceller = [](fd_watch& w, loop& l) -> task<void> {
                co_await l.yield();
                w.cancel();
            };
            co_await when_all(when_all(reader(w, r), writer(w, wr)), canceller(w, l));
            l.stop();
        }(w, pair.server.native_handle(), read_ec, write_ec, l));
    l.run();
    EXPECT_EQ(read_ec, std::errc::operation_canceled);
    EXPECT_EQ(write_ec, std::errc::operation_canceled);
}

TEST(FdWatch, AReaderAndAWriterBothResumeOnOneEdge) {
    // Full duplex: both directions wait at once; one event with IN and OUT wakes both.
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    net::socket a(fds[0]), b(fds[1]);
    fill(a.native_handle());
    loop l;
    fd_watch w;
    ASSERT_TRUE(l.add(a.native_handle(), w).has_value());
    bool read_woke = false, write_woke = false;
    l.start([](fd_watch& w, int fd, bool& rw, bool& ww, loop& l) -> task<void> {
        drain(fd, w);
        w.writable = false;
        auto reader = [](fd_watch& w, bool& woke) -> task<void> {
            woke = !(co_await w.readable_wait());
        };
        auto writer = [](fd_watch& w, bool& woke) -> task<void> {
            woke = !(co_await w.writable_wait());
        };
        co_await when_all(reader(w, rw), writer(w, ww));
        l.stop();
    }(w, a.native_handle(), read_woke, write_woke, l));
    l.post([&] {
        // The peer drains a's data (a becomes writable) and sends a byte (a becomes readable).
        std::string sink(1 << 20, '\0');
        while (::recv(b.native_handle(), sink.data(), sink.size(), MSG_DONTWAIT) > 0) {
        }
        ASSERT_EQ(::send(b.native_handle(), "!", 1, 0), 1);
    });
    l.run();
    EXPECT_TRUE(read_woke);
    EXPECT_TRUE(write_woke);
}

TEST(FdWatch, AWatchDestroyedByAnotherEventOfTheSameTurnIsNotTouched) {
    // Two connections ready in one turn; the first one's coroutine ends the second (a client
    // going away ends its upstream). The second's event of that turn must not reach the freed
    // watch: ASan (scripts/test runs this under it) catches the use after free if it does.
    auto one = net::test::make_loopback_pair();
    auto two = net::test::make_loopback_pair();
    ASSERT_TRUE(one.ok() && two.ok());
    loop l;
    fd_watch first;
    auto second = std::make_unique<fd_watch>();
    ASSERT_TRUE(l.add(one.server.native_handle(), first).has_value());
    ASSERT_TRUE(l.add(two.server.native_handle(), *second).has_value());
    int woke = 0;
    l.start([](fd_watch& w, int fd, int& woke, std::unique_ptr<fd_watch>& victim,
               loop& l) -> task<void> {
        drain(fd, w);
        co_await w.readable_wait();
        ++woke;
        victim.reset();
        l.stop();
    }(first, one.server.native_handle(), woke, second, l));
    l.post([&] {
        // Both become readable before the next epoll_wait, the first one first.
        ASSERT_EQ(::send(one.client.native_handle(), "1", 1, 0), 1);
        ASSERT_EQ(::send(two.client.native_handle(), "2", 1, 0), 1);
    });
    l.run();
    EXPECT_EQ(woke, 1);
    EXPECT_EQ(second, nullptr);
}

// Adopted, a descriptor enters epoll only when it first waits; the bytes that came before are
// reported by that registration, so the wait still ends.
TEST(FdWatch, AnAdoptedDescriptorIsRegisteredAtItsFirstWait) {
    auto pair = net::test::make_loopback_pair();
    ASSERT_TRUE(pair.ok());
    loop l;
    fd_watch w;
    const int fd = pair.server.native_handle();
    l.adopt(fd, w);
    EXPECT_FALSE(w.registered());
    EXPECT_EQ(w.owner(), &l);
    // Not in epoll: a second registration of the same descriptor would fail with EEXIST.
    fd_watch probe;
    ASSERT_TRUE(l.add(fd, probe).has_value());
    l.remove(fd);
    std::string got;
    l.start([](fd_watch& w, int fd, std::string& got, loop& l) -> task<void> {
        drain(fd, w);  // nothing yet
        auto ec = co_await w.readable_wait();
        EXPECT_FALSE(ec);
        EXPECT_TRUE(w.registered());
        got = drain(fd, w);
        l.stop();
    }(w, fd, got, l));
    l.post([&] { ASSERT_EQ(::send(pair.client.native_handle(), "ping", 4, 0), 4); });
    l.run();
    EXPECT_EQ(got, "ping");
}

// A registration that epoll refuses ends the wait with its error, at once.
TEST(FdWatch, AnAdoptedDescriptorThatCannotBeRegisteredEndsItsWaitWithTheError) {
    loop l;
    fd_watch w;
    l.adopt(1 << 20, w);  // no such descriptor
    std::error_code ec;
    block_on([](fd_watch& w, std::error_code& ec) -> task<void> {
        w.readable = false;
        ec = co_await w.readable_wait();
    }(w, ec));
    EXPECT_EQ(ec, std::errc::bad_file_descriptor);
    EXPECT_FALSE(w.registered());
}

TEST(Loop, AddReportsAFailedRegistration) {
    loop l;
    fd_watch w;
    auto r = l.add(-1, w);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), std::errc::bad_file_descriptor);
}

}  // namespace
}  // namespace waitless::io
