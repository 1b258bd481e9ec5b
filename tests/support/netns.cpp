#include "support/netns.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/process.hpp"
#include "waitless/core/netns.hpp"
#include "waitless/core/procfs.hpp"

namespace waitless::test {

std::optional<temporary_netns> temporary_netns::create(std::string* why_not) {
    auto fail = [&](std::string reason) -> std::optional<temporary_netns> {
        if (why_not) *why_not = std::move(reason);
        return std::nullopt;
    };
    if (::geteuid() != 0) return fail("needs root to create a network namespace");
    if (run_shell("command -v ip").exit_code != 0) return fail("needs `ip` (iproute2)");
    static std::atomic<int> counter{0};
    // pid, a per-process count and the clock: a name left behind by a crashed run with the
    // same pid cannot collide.
    std::string name =
        "waitless-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
    auto made = run_shell("ip netns add " + name + " && ip -n " + name + " link set lo up");
    if (made.exit_code != 0) {
        run_shell("ip netns del " + name);
        return fail("ip netns add failed: " + made.err);
    }
    return temporary_netns(std::move(name));
}

temporary_netns::temporary_netns(temporary_netns&& other) noexcept : name_(std::move(other.name_)) {
    other.name_.clear();
}

temporary_netns::~temporary_netns() {
    if (!name_.empty()) run_shell("ip netns del " + name_);
}

void temporary_netns::run(const std::function<void()>& fn) const {
    std::thread inside([&] {
        auto entered = core::enter_netns(name_);
        if (!entered) {
            ADD_FAILURE() << "cannot enter " << name_ << ": " << entered.error().message();
            return;
        }
        fn();
    });
    inside.join();
}

bool temporary_netns::set_sysctl(std::string_view name, std::string_view value) const {
    bool ok = false;
    run([&] {
        std::ofstream out(core::sysctl_path(name));
        out << value << '\n';
        out.flush();
        ok = static_cast<bool>(out);
    });
    return ok;
}

bool link_with_veth(const temporary_netns& a, std::string_view a_address, const temporary_netns& b,
                    std::string_view b_address, std::string* why_not) {
    // Interface names are local to each namespace, so fixed ones cannot collide.
    const std::string command =
        "ip link add wla netns " + a.name() + " type veth peer name wlb netns " + b.name() +
        " && ip -n " + a.name() + " addr add " + std::string(a_address) + " dev wla && ip -n " +
        b.name() + " addr add " + std::string(b_address) + " dev wlb && ip -n " + a.name() +
        " link set wla up && ip -n " + b.name() + " link set wlb up";
    auto made = run_shell(command);
    if (made.exit_code != 0) {
        if (why_not) *why_not = "veth failed: " + made.err;
        return false;
    }
    return true;
}

}  // namespace waitless::test
