// The nginx fixture: a conf in a temp dir, a free port (retried), fork/exec, kill and reap.
#include "support/nginx.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <utility>

#include "support/netns.hpp"
#include "waitless/core/netns.hpp"

namespace waitless::test {
namespace {

const char* const nginx_paths[] = {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"};

std::string find_nginx() {
    for (const char* p : nginx_paths) {
        if (::access(p, X_OK) == 0) return p;
    }
    return {};
}

// A port free right now: bind port 0 on a probe socket, read it, close. Another process may
// take it before nginx binds; the caller retries then.
std::uint16_t probe_free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
        port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
}

bool accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    // An RST, so the probe leaves no TIME_WAIT behind to confuse a census.
    const linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
    return ok;
}

void in_namespace(const temporary_netns* ns, const std::function<void()>& fn) {
    if (ns != nullptr) {
        ns->run(fn);
    } else {
        fn();
    }
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

std::optional<nginx_server> nginx_server::start(const nginx_config& config, std::string* why_not) {
    const auto& [server_block, http_block, ns] = config;
    auto fail = [&](std::string reason) -> std::optional<nginx_server> {
        if (why_not) *why_not = std::move(reason);
        return std::nullopt;
    };
    const std::string binary = find_nginx();
    if (binary.empty()) return fail("not installed: nginx (scripts/setup installs it)");
    char templ[] = "/tmp/waitless-nginx-XXXXXX";
    if (::mkdtemp(templ) == nullptr) return fail("mkdtemp failed");
    nginx_server s;
    s.dir_ = templ;
    s.root_ = s.dir_ + "/root";
    std::filesystem::create_directories(s.root_);
    for (int attempt = 0; attempt < 10; ++attempt) {
        in_namespace(ns, [&] { s.port_ = probe_free_port(); });
        if (s.port_ == 0) return fail("no free port");
        {
            std::ofstream conf(s.dir_ + "/nginx.conf");
            conf << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
                 << "error_log " << s.dir_ << "/error.log notice;\npid " << s.dir_
                 << "/nginx.pid;\nevents { worker_connections 1024; }\nhttp {\n"
                 << "  access_log off;\n  client_body_temp_path " << s.dir_ << "/body;\n"
                 << "  proxy_temp_path " << s.dir_ << "/proxy;\n  fastcgi_temp_path " << s.dir_
                 << "/fastcgi;\n  uwsgi_temp_path " << s.dir_ << "/uwsgi;\n  scgi_temp_path "
                 << s.dir_ << "/scgi;\n  default_type application/octet-stream;\n"
                 << "  types { text/plain txt; text/html html; }\n"
                 << http_block << "\n  server {\n    listen 127.0.0.1:" << s.port_ << ";\n"
                 << "    root " << s.root_ << ";\n"
                 << server_block << "\n  }\n}\n";
        }
        const std::string conf_path = s.dir_ + "/nginx.conf";
        const std::string netns = ns != nullptr ? ns->name() : std::string();
        const pid_t pid = ::fork();
        if (pid < 0) return fail("fork failed");
        if (pid == 0) {
            // Dies with the thread that started it, even when the test crashes.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (!netns.empty() && !core::enter_netns(netns)) ::_exit(126);
            const int devnull = ::open("/dev/null", O_RDWR);
            ::dup2(devnull, 0);
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
            ::execl(binary.c_str(), binary.c_str(), "-p", s.dir_.c_str(), "-c", conf_path.c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        s.pid_ = pid;
        bool up = false;
        bool exited = false;
        for (int i = 0; i < 500 && !up && !exited; ++i) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                exited = true;
                s.pid_ = -1;
                break;
            }
            in_namespace(ns, [&] { up = accepts(s.port_); });
            if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (up) return std::optional<nginx_server>(std::move(s));
        if (!exited) return fail("nginx did not start listening: " + s.error_log());
        // Most likely the port was taken in the meantime: try another.
    }
    return fail("nginx would not start: " + s.error_log());
}

nginx_server::nginx_server(nginx_server&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      port_(other.port_),
      dir_(std::exchange(other.dir_, {})),
      root_(std::move(other.root_)) {}

nginx_server::~nginx_server() {
    stop();
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

void nginx_server::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 300; ++i) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

std::string nginx_server::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string nginx_server::error_log() const { return slurp(dir_ + "/error.log"); }

void nginx_server::write_file(const std::string& name, const std::string& content) const {
    std::ofstream out(root_ + "/" + name, std::ios::binary);
    out << content;
}

}  // namespace waitless::test
