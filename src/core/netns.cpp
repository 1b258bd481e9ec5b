#include "waitless/core/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>

namespace waitless::core {

std::string netns_path(std::string_view name) {
    if (name.starts_with('/')) return std::string(name);
    return "/run/netns/" + std::string(name);
}

result<void> enter_netns(std::string_view name) {
    const bool path = name.starts_with('/');
    if (name.empty() ||
        (!path && (name.find('/') != std::string_view::npos || name == "." || name == ".."))) {
        return std::unexpected(make_error_code(errc::netns_not_found));
    }
    const int fd = ::open(netns_path(name).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::unexpected(make_error_code(errc::netns_not_found));
        return std::unexpected(last_system_error());
    }
    // EINVAL: the file is not a network namespace.
    const int rc = ::setns(fd, CLONE_NEWNET);
    const auto error = last_system_error();
    ::close(fd);
    if (rc != 0) return std::unexpected(error);
    return {};
}

}  // namespace waitless::core
