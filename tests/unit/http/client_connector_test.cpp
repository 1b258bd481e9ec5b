// The loop face's connector and resolver: every address of a name in turn, lookups off the loop
// shared by concurrent askers and cached, errors as values.
#include "http/client_connector.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "http/client_resolver.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"
#include "waitless/net/listen.hpp"

// Coroutines take what they use as parameters, named like the locals they receive.
#pragma GCC diagnostic ignored "-Wshadow"

namespace waitless::http::detail {
namespace {

core::ip_address ip(std::string_view text) { return *core::ip_address::parse(text); }

std::shared_ptr<origin_settings> settings_for(std::string host, std::uint16_t port) {
    auto st = std::make_shared<origin_settings>();
    st->host = std::move(host);
    st->port = port;
    st->connect.timeout = std::chrono::milliseconds(2000);
    st->counters = std::make_shared<client_counters>();
    st->names = std::make_shared<resolver>(std::chrono::seconds(30));
    return st;
}

io::task<result<connection_ptr>> connect(loop_connector& c) { co_return co_await c.create(); }

TEST(ClientConnector, TriesEveryAddressOfANameInTurn) {
    auto listener = net::listen(net::endpoint::loopback_v4());
    ASSERT_TRUE(listener);
    const auto port = net::local_endpoint(listener->native_handle())->port;
    auto st = settings_for("two.test", port);
    // 127.0.0.2 is loopback too, but nothing listens there: refused, then the next address.
    st->names->remember("two.test", {ip("127.0.0.2"), ip("127.0.0.1")});
    loop_connector c(io::thread_loop(), st);
    auto made = io::block_on(connect(c));
    ASSERT_TRUE(made) << made.error().message();
    EXPECT_NE((*made)->native_handle(), -1);
    c.destroy(*made);
    EXPECT_EQ(st->counters->reset.load(), 1u) << "an idle, drained connection closes by RST";
}

TEST(ClientConnector, WhenEveryAddressFailsTheLastErrorComesBack) {
    auto st = settings_for("none.test", 9);  // discard: nothing listens
    st->names->remember("none.test", {ip("127.0.0.2"), ip("127.0.0.3")});
    loop_connector c(io::thread_loop(), st);
    auto made = io::block_on(connect(c));
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error(), std::errc::connection_refused);
}

io::task<void> resolve_into(resolver& r, std::string host,
                            std::optional<result<address_list>>& out) {
    out.emplace(co_await r.resolve(io::thread_loop(), std::move(host)));
}

TEST(ClientResolver, LiteralsNeedNoLookup) {
    resolver r(std::chrono::seconds(30));
    std::optional<result<address_list>> out;
    io::spawn(resolve_into(r, "::1", out));  // ends without suspending
    ASSERT_TRUE(out && *out);
    EXPECT_EQ((**out)[0], ip("::1"));
}

TEST(ClientResolver, ConcurrentAskersShareOneLookupOffTheLoop) {
    resolver r(std::chrono::seconds(30));
    std::optional<result<address_list>> a, b;
    io::block_on([](resolver& r, std::optional<result<address_list>>& a,
                    std::optional<result<address_list>>& b) -> io::task<void> {
        io::spawn(resolve_into(r, "localhost", a));
        io::spawn(resolve_into(r, "localhost", b));
        EXPECT_FALSE(a) << "the lookup runs on a helper thread";
        while (!a || !b) co_await io::thread_loop().yield();
    }(r, a, b));
    ASSERT_TRUE(*a) << a->error().message();
    ASSERT_TRUE(*b);
    EXPECT_EQ(**a, **b);
    std::optional<result<address_list>> cached;
    io::spawn(resolve_into(r, "localhost", cached));  // cached: no suspension
    ASSERT_TRUE(cached && *cached);
    EXPECT_EQ(**cached, **a);
}

TEST(ClientResolver, AnUnknownNameIsAnError) {
    resolver r(std::chrono::seconds(30));
    std::optional<result<address_list>> out;
    io::block_on([](resolver& r, std::optional<result<address_list>>& out) -> io::task<void> {
        co_await resolve_into(r, "no-such-host.invalid", out);
    }(r, out));
    ASSERT_TRUE(out);
    ASSERT_FALSE(*out);
    EXPECT_EQ(out->error(), client_errc::resolve_failed);
}

}  // namespace
}  // namespace waitless::http::detail
