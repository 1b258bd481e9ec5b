// A network namespace made for one test and removed after it: a private kernel network stack.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace waitless::test {

class temporary_netns {
  public:
    // Makes "waitless-test-<pid>-<n>" with lo up. nullopt (and why) when not root or no `ip`.
    static std::optional<temporary_netns> create(std::string* why_not = nullptr);

    temporary_netns(temporary_netns&& other) noexcept;
    temporary_netns& operator=(temporary_netns&&) = delete;
    ~temporary_netns();

    const std::string& name() const { return name_; }
    // Runs fn on a thread that has entered the namespace; returns when fn does.
    void run(const std::function<void()>& fn) const;
    // Writes a sysctl inside the namespace (e.g. "net.ipv4.tcp_tw_reuse", "0"); false on failure.
    bool set_sysctl(std::string_view name, std::string_view value) const;
    // "ip netns exec NAME " to put before a shell command.
    std::string exec_prefix() const { return "ip netns exec " + name_ + " "; }

  private:
    explicit temporary_netns(std::string name) : name_(std::move(name)) {}
    std::string name_;
};

// Links two namespaces with a veth pair and gives each end an address ("192.0.2.1/24"): two
// hosts on one wire, neither on the other's loopback. False (and why) on failure.
bool link_with_veth(const temporary_netns& a, std::string_view a_address, const temporary_netns& b,
                    std::string_view b_address, std::string* why_not = nullptr);

// Skips the current test, with the reason, when no namespace can be made.
#define WAITLESS_NETNS_OR_SKIP(variable)                                        \
    std::string variable##_why;                                                 \
    auto variable = ::waitless::test::temporary_netns::create(&variable##_why); \
    if (!variable) GTEST_SKIP() << variable##_why

}  // namespace waitless::test
