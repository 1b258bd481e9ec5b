// Reading sysctl configuration files (sysctl.conf, sysctl.d) the way `sysctl --system` does.
#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "waitless/core/procfs.hpp"
#include "waitless/doctor/doctor.hpp"

namespace waitless::doctor {
namespace {

namespace fs = std::filesystem;

// Bigger files are not sysctl configuration; do not read them whole.
constexpr std::uintmax_t max_file_size = 1 << 20;

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r");
    return text.substr(first, last - first + 1);
}

void read_one(const fs::path& path, std::set<fs::path>& seen, std::vector<sysctl_file_line>& out) {
    std::error_code ec;
    const auto canonical = fs::canonical(path, ec);
    if (ec || !fs::is_regular_file(canonical, ec) || ec) return;
    if (!seen.insert(canonical).second) return;
    const auto size = fs::file_size(canonical, ec);
    if (ec || size > max_file_size) return;
    auto text = core::read_file(path.string());
    if (!text) return;
    auto lines = parse_sysctl_file(path.string(), *text);
    out.insert(out.end(), std::make_move_iterator(lines.begin()),
               std::make_move_iterator(lines.end()));
}

}  // namespace

std::vector<std::string> default_sysctl_locations() {
    return {"/etc/sysctl.d",     "/run/sysctl.d", "/usr/local/lib/sysctl.d",
            "/usr/lib/sysctl.d", "/lib/sysctl.d", "/etc/sysctl.conf"};
}

std::vector<sysctl_file_line> parse_sysctl_file(std::string_view path, std::string_view text) {
    std::vector<sysctl_file_line> lines;
    std::size_t line_no = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const auto raw = text.substr(start, end - start);
        start = end + 1;
        ++line_no;
        auto line = trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';') continue;
        const auto equals = line.find('=');
        if (equals == std::string_view::npos) continue;
        auto key = trim(line.substr(0, equals));
        // A leading '-' tells systemd-sysctl to ignore a failure; the key is the same.
        if (!key.empty() && key.front() == '-') key = trim(key.substr(1));
        if (key.empty()) continue;
        sysctl_file_line entry;
        entry.path = std::string(path);
        entry.line_no = line_no;
        entry.key = std::string(key);
        std::ranges::replace(entry.key, '/', '.');
        entry.value = std::string(trim(line.substr(equals + 1)));
        entry.text = std::string(trim(raw));
        lines.push_back(std::move(entry));
    }
    return lines;
}

std::vector<sysctl_file_line> read_sysctl_files(const std::vector<std::string>& locations) {
    std::vector<sysctl_file_line> out;
    std::set<fs::path> seen;             // canonical paths already read
    std::set<std::string> masked_names;  // file names taken by an earlier directory
    for (const auto& location : locations) {
        std::error_code ec;
        if (fs::is_directory(location, ec)) {
            std::vector<fs::path> files;
            // Incremented with an error code: a directory that vanishes midway must not throw.
            for (fs::directory_iterator it(location, ec), end; !ec && it != end; it.increment(ec)) {
                if (it->path().extension() == ".conf") files.push_back(it->path());
            }
            std::ranges::sort(files);
            for (const auto& file : files) {
                if (!masked_names.insert(file.filename().string()).second) continue;
                read_one(file, seen, out);
            }
        } else if (fs::exists(location, ec)) {
            read_one(location, seen, out);
        }
    }
    return out;
}

}  // namespace waitless::doctor
