// Entering network namespaces: by name, by path, and what the thread then reads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "support/netns.hpp"
#include "support/process.hpp"
#include "support/tcp_churn.hpp"
#include "waitless/core/netns.hpp"
#include "waitless/core/procfs.hpp"

namespace waitless::core {
namespace {

TEST(Netns, AThreadInsideReadsTheNamespacesCountersAndSysctls) {
    WAITLESS_NETNS_OR_SKIP(ns);
    ASSERT_TRUE(ns->set_sysctl("net.ipv4.ip_local_port_range", "40000 40999"));
    ns->run([] {
        auto before = read_tcp_counters();
        ASSERT_TRUE(before) << before.error().message();
        EXPECT_EQ(before->at("Tcp.ActiveOpens"), 0);  // a new namespace starts from zero
        auto made = test::churn(10, test::closer::client);
        ASSERT_EQ(made.completed, 10u) << made.error;
        auto after = read_tcp_counters();
        ASSERT_TRUE(after);
        EXPECT_EQ(after->at("Tcp.ActiveOpens"), 10);
        EXPECT_EQ(read_sysctl("net.ipv4.ip_local_port_range").value(), "40000\t40999");
    });
}

TEST(Netns, EntersByPathAndRejectsWhatIsNotOne) {
    WAITLESS_NETNS_OR_SKIP(ns);
    std::thread([&] {
        EXPECT_TRUE(enter_netns(netns_path(ns->name())));
        EXPECT_EQ(read_sysctl("net.ipv4.tcp_tw_reuse").value(), "2");
    }).join();
    std::thread([] {
        auto not_a_namespace = enter_netns("/etc/hostname");
        ASSERT_FALSE(not_a_namespace);
        EXPECT_EQ(not_a_namespace.error(), std::errc::invalid_argument);
        EXPECT_EQ(enter_netns("no-such-namespace").error(), errc::netns_not_found);
        EXPECT_EQ(enter_netns("../x").error(), errc::netns_not_found);
    }).join();
}

}  // namespace
}  // namespace waitless::core
