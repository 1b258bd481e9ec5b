// A private network namespace for the calling thread, made with unshare(CLONE_NEWNET): nothing
// to name, nothing to delete; it is gone once its last thread and socket are.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "waitless/core/procfs.hpp"
#include "waitless/demo/demo.hpp"

namespace waitless::demo::detail {
namespace {

result<void> write_sysctl(std::string_view name, std::string_view value) {
    // Opened after unshare, so the file is the new namespace's.
    const int fd = ::open(core::sysctl_path(name).c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return std::unexpected(last_system_error());
    const std::string line = std::string(value) + "\n";
    const auto written = ::write(fd, line.data(), line.size());
    const auto error = last_system_error();
    ::close(fd);
    if (written != static_cast<ssize_t>(line.size())) return std::unexpected(error);
    return {};
}

result<void> loopback_up() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::unexpected(last_system_error());
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    int rc = ::ioctl(fd, SIOCGIFFLAGS, &request);
    if (rc == 0) {
        request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
        rc = ::ioctl(fd, SIOCSIFFLAGS, &request);
    }
    const auto error = last_system_error();
    ::close(fd);
    if (rc != 0) return std::unexpected(error);
    return {};
}

}  // namespace

result<void> enter_private_netns(std::string_view port_range) {
    if (::unshare(CLONE_NEWNET) != 0) return std::unexpected(last_system_error());
    if (auto up = loopback_up(); !up) return up;
    if (auto w = write_sysctl("net.ipv4.tcp_tw_reuse", "0"); !w) return w;
    return write_sysctl("net.ipv4.ip_local_port_range", port_range);
}

}  // namespace waitless::demo::detail
