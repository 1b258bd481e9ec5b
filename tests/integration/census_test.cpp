// `waitless stat` against the kernel: TIME_WAIT made on purpose inside a private network
// namespace, counted by the census and by ss.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <tuple>

#include "support/netns.hpp"
#include "support/process.hpp"
#include "support/tcp_churn.hpp"

namespace waitless::test {
namespace {

using json = nlohmann::json;

json stat_json(const temporary_netns& ns, const std::string& flags = "") {
    auto run = run_shell(waitless_binary() + " stat --json --netns " + ns.name() + " " + flags);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return json::parse(run.out);
}

// "ss -Htan" in the namespace: sockets per state, and TIME_WAIT per (local ip, peer).
struct ss_view {
    std::map<std::string, int> states;
    std::map<std::tuple<std::string, std::string, int>, int> time_wait_by_destination;
};

std::pair<std::string, int> split_endpoint(const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    return {endpoint.substr(0, colon), std::stoi(endpoint.substr(colon + 1))};
}

ss_view ss(const temporary_netns& ns) {
    auto run = run_shell(ns.exec_prefix() + "ss -Htan");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    ss_view view;
    std::istringstream lines(run.out);
    std::string state, recv_q, send_q, local, peer;
    while (lines >> state >> recv_q >> send_q >> local >> peer) {
        ++view.states[state];
        if (state != "TIME-WAIT") continue;
        auto [local_ip, local_port] = split_endpoint(local);
        auto [peer_ip, peer_port] = split_endpoint(peer);
        ++view.time_wait_by_destination[{local_ip, peer_ip, peer_port}];
    }
    return view;
}

// A connection left open (the listener's queue completes the handshake); -1 on failure.
int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

const json* find_destination(const json& j, int remote_port) {
    for (const auto& d : j["time_wait"]["destinations"]) {
        if (d["remote_port"] == remote_port) return &d;
    }
    return nullptr;
}

TEST(Census, MatchesSsPerDestinationAndSplitsClientFromServer) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.tcp_tw_reuse", "0"));  // one TIME_WAIT per close
    churn_result client_first, server_first;
    std::vector<int> open_clients;
    ns->run([&] {
        client_first = churn(3000, closer::client, "127.0.0.1", "", true);
        server_first = churn(500, closer::server, "127.0.0.2", "", true);
        // 20 connections left open towards the client-first listener: "active".
        for (int i = 0; i < 20; ++i) open_clients.push_back(connect_to(client_first.server_port));
    });
    ASSERT_EQ(client_first.completed, 3000u) << client_first.error;
    ASSERT_EQ(server_first.completed, 500u) << server_first.error;
    // The last FINs may still be on their way (a busy machine defers loopback delivery to
    // ksoftirqd): wait, within 3 s, until no close is half done, so both tools see one state.
    for (int i = 0; i < 60; ++i) {
        const auto states = ss(*ns).states;
        if (!states.contains("FIN-WAIT-1") && !states.contains("FIN-WAIT-2") &&
            !states.contains("LAST-ACK") && !states.contains("CLOSING")) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    const auto census = stat_json(*ns);
    const auto seen = ss(*ns);
    for (int fd : open_clients) ::close(fd);
    // On a failure, what both tools saw, in short.
    auto summary = census;
    summary["time_wait"].erase("destinations");
    std::string ss_states;
    for (const auto& [state, count] : seen.states)
        ss_states += state + "=" + std::to_string(count) + " ";
    SCOPED_TRACE("census: " + summary.dump() + "\nss: " + ss_states);
    ::close(client_first.listener_fd);
    ::close(server_first.listener_fd);

    EXPECT_EQ(census["states"]["time_wait"], seen.states.at("TIME-WAIT"));
    EXPECT_EQ(census["time_wait"]["total"], 3500);
    EXPECT_EQ(census["time_wait"]["client_side"], 3000);
    EXPECT_EQ(census["time_wait"]["server_side"], 500);
    EXPECT_EQ(census["states"]["listen"], 2);

    // Per destination, exactly what ss lists.
    int client_side_in_ss = 0;
    for (const auto& [key, count] : seen.time_wait_by_destination) {
        const auto& [local_ip, peer_ip, peer_port] = key;
        if (peer_port == client_first.server_port) {
            client_side_in_ss += count;
            const json* d = find_destination(census, peer_port);
            ASSERT_NE(d, nullptr) << peer_port;
            EXPECT_EQ((*d)["time_wait"], count);
            EXPECT_EQ((*d)["local_ip"], local_ip);
            EXPECT_EQ((*d)["remote_ip"], peer_ip);
        }
    }
    EXPECT_EQ(client_side_in_ss, 3000);
    const json* d = find_destination(census, client_first.server_port);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ((*d)["usable_ports"], 28232);  // the default 32768-60999 of a new namespace
    EXPECT_EQ((*d)["active"], 20);
    EXPECT_EQ(census["states"]["established"], 40);  // both ends of the 20 open ones
    EXPECT_NEAR((*d)["occupancy"].get<double>(), 3020.0 / 28232, 1e-9);
    EXPECT_FALSE((*d)["reuse_applies"]);
    // All 3000 closed within the last 10 s: 300 per second over the default window.
    EXPECT_NEAR((*d)["closes_per_s"].get<double>(), 300.0, 30.0);

    ASSERT_EQ(census["time_wait"]["listeners"].size(), 2u);
    const auto& busiest = census["time_wait"]["listeners"][0];
    EXPECT_EQ(busiest["local_port"], server_first.server_port);
    EXPECT_EQ(busiest["local_ip"], "127.0.0.2");
    EXPECT_EQ(busiest["time_wait"], 500);
    EXPECT_EQ(census["time_wait"]["expiring_within"]["60s"], 3500);
    EXPECT_EQ(census["time_wait"]["expiring_within"]["1s"], 0);
}

TEST(Census, FiniteTimeToExhaustionWithSmallRangeAndNoReuse) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.tcp_tw_reuse", "0"));
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.ip_local_port_range", "40000 40999"));
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.ip_local_reserved_ports", "40000-40099"));
    churn_result made;
    ns->run([&] { made = churn(600, closer::client, "127.0.0.1", "", true); });
    ASSERT_EQ(made.completed, 600u) << made.error;

    auto census = stat_json(*ns);
    EXPECT_EQ(census["port_range"], json::array({40000, 40999}));
    EXPECT_EQ(census["tw_reuse"], 0);
    const json* d = find_destination(census, made.server_port);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ((*d)["time_wait"], 600);
    EXPECT_EQ((*d)["usable_ports"], 900);
    EXPECT_NEAR((*d)["occupancy"].get<double>(), 600.0 / 900, 1e-9);
    EXPECT_FALSE((*d)["reuse_applies"]);
    // 60 closes/s would settle at 3600 TIME_WAIT > 900 ports: 300 free ports at ~60/s.
    ASSERT_TRUE((*d)["seconds_to_exhaustion"].is_number()) << d->dump();
    const double seconds = (*d)["seconds_to_exhaustion"];
    EXPECT_GT(seconds, 3.0);
    EXPECT_LT(seconds, 8.0);

    // Loopback with the default tcp_tw_reuse=2: reuse applies, no exhaustion ahead.
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.tcp_tw_reuse", "2"));
    census = stat_json(*ns, "--dst 127.0.0.1:" + std::to_string(made.server_port));
    ASSERT_EQ(census["time_wait"]["destinations"].size(), 1u);
    d = &census["time_wait"]["destinations"][0];
    EXPECT_TRUE((*d)["reuse_applies"]);
    EXPECT_TRUE((*d)["seconds_to_exhaustion"].is_null());
    EXPECT_EQ(census["time_wait"]["total"], 600);

    // Filters that match nothing.
    census = stat_json(*ns, "--dst 127.0.0.9");
    EXPECT_EQ(census["time_wait"]["total"], 0);
    census = stat_json(*ns, "--port " + std::to_string(made.server_port));
    EXPECT_EQ(census["time_wait"]["total"], 600);
    EXPECT_EQ(census["time_wait"]["listeners"].size(), 1u);
    ::close(made.listener_fd);
}

TEST(Census, PrometheusAndTableShowTheSameDestination) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.tcp_tw_reuse", "0"));
    churn_result made;
    ns->run([&] { made = churn(200, closer::client); });
    ASSERT_EQ(made.completed, 200u) << made.error;
    const auto port = std::to_string(made.server_port);
    auto prom = run_shell(waitless_binary() + " stat --prometheus --netns " + ns->name());
    ASSERT_EQ(prom.exit_code, 0) << prom.err;
    EXPECT_NE(prom.out.find("waitless_destination_time_wait_sockets{local_ip=\"127.0.0.1\","
                            "remote_ip=\"127.0.0.1\",remote_port=\"" +
                            port + "\"} 200\n"),
              std::string::npos)
        << prom.out;
    EXPECT_NE(prom.out.find("# TYPE waitless_time_wait_sockets gauge"), std::string::npos);
    auto table = run_shell(waitless_binary() + " stat --netns " + ns->name());
    ASSERT_EQ(table.exit_code, 0) << table.err;
    EXPECT_NE(table.out.find("127.0.0.1 -> 127.0.0.1:" + port), std::string::npos) << table.out;
    EXPECT_EQ(table.out.find('\x1b'), std::string::npos);  // not a TTY: no colours
    auto watch =
        run_shell(waitless_binary() + " stat --json --watch 0.1 --count 3 --netns " + ns->name());
    ASSERT_EQ(watch.exit_code, 0) << watch.err;
    std::istringstream lines(watch.out);
    std::string line;
    int snapshots = 0;
    while (std::getline(lines, line)) {
        EXPECT_EQ(json::parse(line)["time_wait"]["total"], 200);
        ++snapshots;
    }
    EXPECT_EQ(snapshots, 3);
}

}  // namespace
}  // namespace waitless::test
