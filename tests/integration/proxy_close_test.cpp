// Where `waitless proxy` leaves TIME_WAIT, counted by the census in private namespaces:
// Connection: close clients on loopback or on another host (a veth pair), a `waitless serve`
// backend behind the proxy; the upstream side must leave none, the client side none for
// loopback and trusted peers, and only server-side TIME_WAIT (the proxy's listening port) for
// an untrusted host.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <thread>

#include "integration/http_serve_process.hpp"
#include "support/netns.hpp"
#include "support/process.hpp"
#include "waitless/census/census.hpp"

namespace waitless::test {
namespace {

constexpr int requests = 200;

struct counts {
    std::uint64_t total = 0, server_side = 0, client_side = 0;
};

counts census_of(const temporary_netns& ns) {
    counts c;
    ns.run([&] {
        auto taken = census::take_snapshot();
        ASSERT_TRUE(taken) << taken.error().message();
        c = {taken->time_wait, taken->time_wait_server, taken->time_wait_client};
    });
    return c;
}

struct stack {
    std::unique_ptr<serve_process> backend, proxy;
};

stack start_stack(const temporary_netns& ns, const std::string& proxy_args,
                  const std::string& listen) {
    stack s;
    std::string why;
    s.backend = serve_process::start("--workers 1", ns.exec_prefix(), &why, "127.0.0.1:0");
    EXPECT_TRUE(s.backend) << why;
    if (!s.backend) return s;
    s.proxy = serve_process::start(
        "--workers 2 --upstream 127.0.0.1:" + std::to_string(s.backend->port()) + " " + proxy_args,
        ns.exec_prefix(), &why, listen, "proxy");
    EXPECT_TRUE(s.proxy) << why;
    return s;
}

// Connection: close requests, each on its own connection, from client_ns.
void run_closes(const temporary_netns& client_ns, const char* proxy_ip, std::uint16_t port) {
    client_ns.run([&] {
        for (int i = 0; i < requests; ++i) {
            raw_client client(port, ::inet_addr(proxy_ip));
            ASSERT_TRUE(client.connected());
            ASSERT_TRUE(client.send(get("/", "Connection: close\r\n")));
            const auto r = client.read_responses(1);
            ASSERT_EQ(r.size(), 1u) << i;
            ASSERT_EQ(r[0].status, 200) << i;
            EXPECT_EQ(r[0].body, "hello world\n");
        }
    });
    std::this_thread::sleep_for(500ms);  // the closes settle (acknowledgements, resets)
}

TEST(ProxyClose, LoopbackClientsLeaveNoTimeWaitAnywhere) {
    WAITLESS_NETNS_OR_SKIP(ns);
    auto s = start_stack(*ns, "", "127.0.0.1:0");
    ASSERT_TRUE(s.proxy);
    run_closes(*ns, "127.0.0.1", s.proxy->port());
    EXPECT_EQ(census_of(*ns).total, 0u);
    EXPECT_EQ(s.proxy->terminate(), 0);
    const auto said = s.proxy->error_text();
    EXPECT_NE(said.find(std::to_string(requests) + " requests"), std::string::npos) << said;
    EXPECT_EQ(s.backend->terminate(), 0);
    // The pooled upstream connections were reset at exit: still none.
    EXPECT_EQ(census_of(*ns).total, 0u) << said << s.backend->error_text();
}

TEST(ProxyClose, RemoteClientsLeaveTimeWaitOnlyOnTheProxysListeningPortUnlessTrusted) {
    for (const bool trusted : {false, true}) {
        SCOPED_TRACE(trusted ? "trusted" : "untrusted");
        WAITLESS_NETNS_OR_SKIP(proxy_ns);
        WAITLESS_NETNS_OR_SKIP(client_ns);
        std::string why;
        ASSERT_TRUE(link_with_veth(*proxy_ns, "192.0.2.1/24", *client_ns, "192.0.2.2/24", &why))
            << why;
        auto s =
            start_stack(*proxy_ns, trusted ? "--trusted-peers 192.0.2.0/24" : "", "192.0.2.1:0");
        ASSERT_TRUE(s.proxy);
        run_closes(*client_ns, "192.0.2.1", s.proxy->port());
        const auto proxy_host = census_of(*proxy_ns);
        const auto client_host = census_of(*client_ns);
        EXPECT_EQ(client_host.total, 0u);
        // Untrusted: the proxy's FIN left with the response, so each close holds a TIME_WAIT
        // on the listening port (no ephemeral port); trusted: an RST once acknowledged.
        EXPECT_EQ(proxy_host.total, trusted ? 0u : std::uint64_t{requests});
        EXPECT_EQ(proxy_host.client_side, 0u) << "the upstream side must leave none";
        EXPECT_EQ(s.proxy->terminate(), 0);
        EXPECT_EQ(s.backend->terminate(), 0);
    }
}

// Retirement: the last request on an upstream connection carries Connection: close, so the
// backend closes first and the TIME_WAIT lands on its listening port, never on the proxy's
// ephemeral ports. The backend's close policy is graceful here, so it does leave one.
TEST(ProxyClose, RetiredUpstreamConnectionsLeaveTheirTimeWaitOnTheBackendsPort) {
    WAITLESS_NETNS_OR_SKIP(ns);
    std::string why;
    auto backend = serve_process::start("--workers 1 --close-policy graceful", ns->exec_prefix(),
                                        &why, "127.0.0.1:0");
    ASSERT_TRUE(backend) << why;
    auto proxy = serve_process::start("--workers 1 --upstream-max-uses 10 --upstream 127.0.0.1:" +
                                          std::to_string(backend->port()),
                                      ns->exec_prefix(), &why, "127.0.0.1:0", "proxy");
    ASSERT_TRUE(proxy) << why;
    ns->run([&] {
        raw_client client(proxy->port());
        ASSERT_TRUE(client.connected());
        for (int i = 0; i < 50; ++i) {
            ASSERT_TRUE(client.send(get()));
            const auto r = client.read_responses(1);
            ASSERT_EQ(r.size(), 1u) << i;
            ASSERT_EQ(r[0].status, 200) << i;
        }
    });
    std::this_thread::sleep_for(500ms);
    const auto c = census_of(*ns);
    // Five connections of ten requests each, each closed by the backend first.
    EXPECT_EQ(c.server_side, 5u);
    EXPECT_EQ(c.total, 5u);
    EXPECT_EQ(proxy->terminate(), 0);
    EXPECT_NE(proxy->error_text().find("5 connects"), std::string::npos) << proxy->error_text();
}

TEST(ProxyClose, UnixSocketClientsCostNoTimeWait) {
    WAITLESS_NETNS_OR_SKIP(ns);
    const std::string path = "@waitless-proxy-test-" + std::to_string(::getpid());
    auto s = start_stack(*ns, "", "unix:" + path);
    ASSERT_TRUE(s.proxy);
    EXPECT_EQ(s.proxy->address(), "unix:" + path);
    for (int i = 0; i < 20; ++i) {
        const auto r = run_shell(ns->exec_prefix() + "curl -sS --abstract-unix-socket " +
                                 path.substr(1) + " http://proxy/");
        ASSERT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, "hello world\n");
    }
    EXPECT_EQ(census_of(*ns).total, 0u);
    EXPECT_EQ(s.proxy->terminate(), 0);
    EXPECT_NE(s.proxy->error_text().find("20 requests"), std::string::npos)
        << s.proxy->error_text();
}

}  // namespace
}  // namespace waitless::test
