// `waitless serve` as a child process of a test (killed and reaped however the test ends), and
// a raw-socket HTTP client that splits responses with the project's own parser.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "waitless/http/parser.hpp"

namespace waitless::test {

using namespace std::chrono_literals;

class serve_process {
  public:
    // Runs `PREFIX waitless COMMAND --listen LISTEN ARGS` (PREFIX e.g. "ip netns exec NS ";
    // COMMAND serve or proxy) and waits for its first `listening:` line; nullptr (and why) if
    // it does not come.
    static std::unique_ptr<serve_process> start(const std::string& args,
                                                const std::string& prefix = "",
                                                std::string* why_not = nullptr,
                                                const std::string& listen = "127.0.0.1:0",
                                                const std::string& subcommand = "serve") {
        // Appended, not "'" + ...: g++ 12 warns falsely (-Wrestrict) on a literal plus a string.
        std::string command_line = "'";
        command_line.append(WAITLESS_BIN).append("' ").append(subcommand);
        command_line.append(" --listen ").append(listen).append(" ").append(args);
        return run(command_line, prefix, why_not);
    }
    // Runs any command that prints a `listening: ADDRESS` line first (a test's own backend).
    static std::unique_ptr<serve_process> run(const std::string& command_line,
                                              const std::string& prefix = "",
                                              std::string* why_not = nullptr) {
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) return nullptr;
        std::unique_ptr<serve_process> p(new serve_process);
        p->err_path_ = "/tmp/waitless-serve-err-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter()++);
        const std::string command = "exec " + prefix + command_line + " 2>" + p->err_path_;
        p->pid_ = ::fork();
        if (p->pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(out[1]);
        p->out_fd_ = out[0];
        const auto line = p->read_line(10s);
        const auto colon = line.rfind(':');
        if (!line.starts_with("listening: ") || colon == std::string::npos) {
            if (why_not) *why_not = "no listening line; got '" + line + "', " + p->error_text();
            return nullptr;
        }
        p->address_ = line.substr(11);
        p->port_ = static_cast<std::uint16_t>(std::atoi(line.c_str() + colon + 1));
        return p;
    }

    ~serve_process() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_fd_ >= 0) ::close(out_fd_);
        ::unlink(err_path_.c_str());
    }

    std::uint16_t port() const { return port_; }
    const std::string& address() const { return address_; }
    pid_t pid() const { return pid_; }

    // Sends SIGTERM and waits up to `timeout` for the exit: its code, or -1 (killed then).
    int terminate(std::chrono::milliseconds timeout = 5s) {
        ::kill(pid_, SIGTERM);
        return wait_exit(timeout);
    }
    int wait_exit(std::chrono::milliseconds timeout) {
        const auto give_up = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < give_up) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                reaped_ = true;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            ::usleep(10'000);
        }
        return -1;
    }
    std::string error_text() const {
        std::string text;
        if (FILE* f = std::fopen(err_path_.c_str(), "r")) {
            char buffer[4096];
            std::size_t n;
            while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
            std::fclose(f);
        }
        return text;
    }

  private:
    serve_process() = default;
    static int& counter() {
        static int n = 0;
        return n;
    }
    std::string read_line(std::chrono::milliseconds timeout) {
        std::string line;
        const auto give_up = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < give_up) {
            pollfd p{out_fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) != 1) continue;
            char c;
            if (::read(out_fd_, &c, 1) != 1) break;
            if (c == '\n') return line;
            line.push_back(c);
        }
        return line;
    }

    pid_t pid_ = -1;
    bool reaped_ = false;
    int out_fd_ = -1;
    std::string err_path_;
    std::string address_;
    std::uint16_t port_ = 0;
};

// A blocking TCP connection to 127.0.0.1:port, closed on destruction.
class raw_client {
  public:
    // ipv4: the server's address in network order (loopback by default).
    explicit raw_client(std::uint16_t port, std::uint32_t ipv4 = htonl(INADDR_LOOPBACK)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = ipv4;
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~raw_client() {
        if (fd_ >= 0) ::close(fd_);
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    bool connected() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    bool send(const std::string& bytes) {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
               static_cast<ssize_t>(bytes.size());
    }

    struct response {
        int status = 0;
        std::map<std::string, std::string> headers;  // names in lower case
        std::string body;
        std::string header(const std::string& name) const {
            auto it = headers.find(name);
            return it == headers.end() ? "" : it->second;
        }
    };

    // Reads until `count` whole responses arrived (fewer when the wait ends or the server
    // closes first).
    std::vector<response> read_responses(std::size_t count, std::chrono::milliseconds wait = 5s) {
        std::vector<response> out;
        http::parser p(http::parser_kind::response);
        response current;
        const auto give_up = std::chrono::steady_clock::now() + wait;
        while (out.size() < count) {
            for (;;) {
                auto step = p.parse(pending_);
                if (!step) return out;
                if (step->what == http::parser::event::head) {
                    current = {};
                    current.status = p.head().status;
                    for (const auto& f : p.head().headers) {
                        std::string name(f.name);
                        for (auto& c : name) c = static_cast<char>(std::tolower(c));
                        current.headers[name] = std::string(f.value);
                    }
                } else if (step->what == http::parser::event::body) {
                    current.body += step->body;
                } else if (step->what == http::parser::event::end) {
                    out.push_back(current);
                }
                pending_.erase(0, step->consumed);
                if (step->what == http::parser::event::need_more || out.size() == count) break;
            }
            if (out.size() == count) break;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                give_up - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd pf{fd_, POLLIN, 0};
            if (::poll(&pf, 1, static_cast<int>(left.count())) != 1) break;
            char buffer[65536];
            const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            pending_.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }

    // What the server does next, within `wait`: 0 for its FIN, -ECONNRESET for an RST,
    // -ETIMEDOUT for nothing, a positive count for bytes.
    int next_event(std::chrono::milliseconds wait) {
        pollfd pf{fd_, POLLIN, 0};
        if (::poll(&pf, 1, static_cast<int>(wait.count())) != 1) return -ETIMEDOUT;
        char buffer[4096];
        const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        return n < 0 ? -errno : static_cast<int>(n);
    }

  private:
    int fd_ = -1;
    std::string pending_;
};

inline std::string get(const std::string& target = "/", const std::string& extra = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

}  // namespace waitless::test
