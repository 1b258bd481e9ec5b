// Where each close policy of `waitless serve` leaves the TIME_WAIT, counted by the census: for a
// client on loopback, and for a client on another host (a veth pair between two namespaces),
// which is neither loopback nor trusted unless --trusted-peers says so.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "integration/http_serve_process.hpp"
#include "support/netns.hpp"
#include "waitless/census/census.hpp"

namespace waitless::test {
namespace {

constexpr int requests = 10;

struct placement {
    std::uint64_t server_side = 0;  // on the server's host
    std::uint64_t client_side = 0;  // on the client's host
    friend bool operator==(const placement&, const placement&) = default;
};

std::ostream& operator<<(std::ostream& out, const placement& p) {
    return out << "{server " << p.server_side << ", client " << p.client_side << "}";
}

std::uint64_t time_wait_in(const temporary_netns& ns) {
    std::uint64_t count = 0;
    ns.run([&] {
        auto taken = census::take_snapshot();
        ASSERT_TRUE(taken) << taken.error().message();
        count = taken->time_wait;
    });
    return count;
}

// Connection: close requests, each on its own connection, from client_ns; every response must
// arrive whole. Then the census of both hosts once the closes have settled.
placement run_closes(const temporary_netns& server_ns, const temporary_netns& client_ns,
                     const char* server_ip, std::uint16_t port) {
    const std::uint32_t address = ::inet_addr(server_ip);
    client_ns.run([&] {
        for (int i = 0; i < requests; ++i) {
            raw_client client(port, address);
            ASSERT_TRUE(client.connected());
            ASSERT_TRUE(client.send(get("/", "Connection: close\r\n")));
            const auto r = client.read_responses(1);
            ASSERT_EQ(r.size(), 1u);
            EXPECT_EQ(r[0].status, 200);
            EXPECT_EQ(r[0].body, "hello world\n");
            EXPECT_EQ(r[0].header("connection"), "close");
        }  // the client closes its end here, as clients do once told to
    });
    const bool one_host = &server_ns == &client_ns;
    placement p;
    // Closes finish within the server's peer_close_wait (200 ms here); a little longer settles.
    std::this_thread::sleep_for(500ms);
    if (one_host) {
        server_ns.run([&] {
            auto taken = census::take_snapshot();
            ASSERT_TRUE(taken) << taken.error().message();
            p = {taken->time_wait_server, taken->time_wait_client};
        });
    } else {
        p = {time_wait_in(server_ns), time_wait_in(client_ns)};
    }
    return p;
}

// The server's own account of its closes, from the line it prints at exit: {TIME_WAIT here,
// TIME_WAIT on the client}, and the resets.
struct close_counts {
    placement time_wait;
    std::uint64_t reset = 0;
};

close_counts counted_closes(serve_process& server) {
    EXPECT_EQ(server.terminate(), 0) << server.error_text();
    const auto said = server.error_text();
    std::smatch m;
    const std::regex line(
        "closes: ([0-9]+) TIME_WAIT here, ([0-9]+) TIME_WAIT on the client, "
        "([0-9]+) reset");
    if (!std::regex_search(said, m, line)) {
        ADD_FAILURE() << "no close counts in: " << said;
        return {};
    }
    return {{std::stoull(m[1]), std::stoull(m[2])}, std::stoull(m[3])};
}

std::unique_ptr<serve_process> start_in(const temporary_netns& ns, const std::string& args,
                                        const std::string& listen) {
    std::string why;
    auto server = serve_process::start("--workers 1 --peer-close-wait-ms 200 " + args,
                                       ns.exec_prefix(), &why, listen);
    EXPECT_TRUE(server) << why;
    return server;
}

struct policy_case {
    const char* args;
    placement expected;
};

TEST(ClosePolicy, OnLoopbackTheTimeWaitLandsWhereThePolicySays) {
    const policy_case cases[] = {
        {"", {0, 0}},                                  // auto: reset once acknowledged
        {"--close-policy auto", {0, 0}},               //
        {"--close-policy abortive", {0, 0}},           //
        {"--close-policy graceful", {requests, 0}},    // the server's listening port
        {"--close-policy peer_first", {0, requests}},  // the client's ephemeral ports
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.args);
        WAITLESS_NETNS_OR_SKIP(ns);
        auto server = start_in(*ns, c.args, "127.0.0.1:0");
        ASSERT_TRUE(server);
        EXPECT_EQ(run_closes(*ns, *ns, "127.0.0.1", server->port()), c.expected);
        // The server counts what the census saw: each close where its TIME_WAIT is, or a reset.
        const auto counted = counted_closes(*server);
        EXPECT_EQ(counted.time_wait, c.expected);
        EXPECT_EQ(counted.reset, c.expected == placement{} ? requests : 0u);
    }
}

// Closes the server decides on its own (--max-requests 1: the client asked for nothing) go the
// long way, reading to the client's FIN; a client that half-closes right after its request
// sends the first FIN and keeps the TIME_WAIT. The census and the server's counts agree.
TEST(ClosePolicy, GracefulClosesAreCountedWhereTheCensusFindsTheirTimeWait) {
    struct client_case {
        const char* name;
        const char* server_args;
        const char* extra_fields;
        bool half_close;  // shutdown(SHUT_WR) right after the request
        placement expected;
    };
    const client_case cases[] = {
        {"server decides", "", "", false, {requests, 0}},
        {"client asked", "", "Connection: close\r\n", false, {requests, 0}},
        // The response waits 20 ms, so the client's FIN is surely in before the server's.
        {"client half-closed", "--delay-ms 20", "Connection: close\r\n", true, {0, requests}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        WAITLESS_NETNS_OR_SKIP(ns);
        auto server =
            start_in(*ns, std::string("--close-policy graceful --max-requests 1 ") + c.server_args,
                     "127.0.0.1:0");
        ASSERT_TRUE(server);
        placement p;
        ns->run([&] {
            for (int i = 0; i < requests; ++i) {
                raw_client client(server->port());
                ASSERT_TRUE(client.send(get("/", c.extra_fields)));
                if (c.half_close) {
                    ASSERT_EQ(::shutdown(client.fd(), SHUT_WR), 0);
                }
                ASSERT_EQ(client.read_responses(1).size(), 1u);
                ASSERT_EQ(client.next_event(2s), 0);  // the server's FIN
            }
            std::this_thread::sleep_for(500ms);
            auto taken = census::take_snapshot();
            ASSERT_TRUE(taken) << taken.error().message();
            p = {taken->time_wait_server, taken->time_wait_client};
        });
        EXPECT_EQ(p, c.expected);
        const auto counted = counted_closes(*server);
        EXPECT_EQ(counted.time_wait, c.expected);
        EXPECT_EQ(counted.reset, 0u);
    }
}

TEST(ClosePolicy, ForAnUntrustedHostAutoKeepsTheTimeWaitOnTheServer) {
    const policy_case cases[] = {
        {"", {requests, 0}},  // auto, a peer that is not loopback: graceful
        {"--close-policy graceful", {requests, 0}},
        {"--close-policy peer_first", {0, requests}},
        {"--close-policy abortive", {0, 0}},
        {"--trusted-peers 192.0.2.0/24", {0, 0}},  // auto, a trusted network: reset
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.args);
        WAITLESS_NETNS_OR_SKIP(server_ns);
        WAITLESS_NETNS_OR_SKIP(client_ns);
        std::string why;
        // Addresses from TEST-NET-1 (RFC 5737), on a wire that exists only between these two.
        ASSERT_TRUE(link_with_veth(*server_ns, "192.0.2.1/24", *client_ns, "192.0.2.2/24", &why))
            << why;
        auto server = start_in(*server_ns, c.args, "192.0.2.1:0");
        ASSERT_TRUE(server);
        EXPECT_EQ(run_closes(*server_ns, *client_ns, "192.0.2.1", server->port()), c.expected);
        const auto counted = counted_closes(*server);
        EXPECT_EQ(counted.time_wait, c.expected);
        EXPECT_EQ(counted.reset, c.expected == placement{} ? requests : 0u);
    }
}

}  // namespace
}  // namespace waitless::test
