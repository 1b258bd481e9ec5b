// The server: listeners bound up front (port 0 resolved once and shared through SO_REUSEPORT),
// one worker thread per listener set, shutdown fanned out to every worker.
#include "waitless/http/server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <limits>
#include <thread>

#include "http/server_worker.hpp"
#include "waitless/core/cpus.hpp"
#include "waitless/net/listen.hpp"

namespace waitless::http {
namespace {

std::unexpected<std::error_code> malformed() {
    return std::unexpected(make_error_code(core::errc::malformed_input));
}

}  // namespace

result<listen_address> listen_address::parse(std::string_view text) {
    listen_address out;
    if (text.starts_with("unix:")) {
        out.unix_path = std::string(text.substr(5));
        if (out.unix_path.empty()) return malformed();
        return out;
    }
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return malformed();
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port > 65535) {
        return malformed();
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return malformed();  // an IPv6 address needs its brackets
    }
    if (host.empty() || host == "*") host = "0.0.0.0";
    if (host == "localhost") host = "127.0.0.1";
    auto address = core::ip_address::parse(host);
    if (!address) return std::unexpected(address.error());
    out.tcp = net::endpoint{*address, static_cast<std::uint16_t>(port)};
    return out;
}

std::string listen_address::to_string() const {
    return tcp ? tcp->to_string() : "unix:" + unix_path;
}

server::server(server_options options, handler h)
    : options_(std::move(options)), handler_(std::move(h)) {}

server::~server() {
    stop();
    wait();
}

result<void> server::start() {
    if (!workers_.empty())
        return std::unexpected(std::make_error_code(std::errc::already_connected));
    if (options_.listen.empty() || !handler_) {
        return std::unexpected(std::make_error_code(std::errc::invalid_argument));
    }
    const std::size_t count = options_.workers > 0 ? options_.workers : core::usable_cpus();
    // Socket files made so far; a failure further on removes them again.
    std::vector<std::string> files;
    auto fail = [&files](std::error_code ec) -> result<void> {
        for (const auto& path : files) ::unlink(path.c_str());
        return std::unexpected(ec);
    };
    // per_worker[w][i]: worker w's descriptor for listen address i.
    std::vector<std::vector<net::socket>> per_worker(count);
    std::vector<int> families;
    std::vector<std::string> addresses;
    net::listen_options lo;
    lo.non_blocking = true;
    lo.nodelay = true;  // responses are not held back; accepted sockets inherit it
    // Listeners whose connections mostly end with an RST (abortive, or auto where every peer is
    // on loopback) hand SO_LINGER {1, 0} to each accepted socket: no setsockopt() per close.
    std::vector<bool> resets, deferred;
    for (const auto& address : options_.listen) {
        if (address.tcp) {
            lo.reuse_port = true;
            lo.defer_accept = options_.defer_accept;
            lo.reset_on_close = options_.close_policy == server_close_policy::abortive ||
                                (options_.close_policy == server_close_policy::automatic &&
                                 address.tcp->address.is_loopback());
            auto first = net::listen(*address.tcp, lo);
            if (!first) return fail(first.error());
            auto bound = net::local_endpoint(first->native_handle());
            if (!bound) return fail(bound.error());
            per_worker[0].push_back(std::move(*first));
            for (std::size_t w = 1; w < count; ++w) {
                auto more = net::listen(*bound, lo);
                if (!more) return fail(more.error());
                per_worker[w].push_back(std::move(*more));
            }
            families.push_back(bound->address.family);
            addresses.push_back(bound->to_string());
            resets.push_back(lo.reset_on_close);
            deferred.push_back(lo.defer_accept.count() > 0);
        } else {
            lo.reuse_port = false;
            lo.defer_accept = std::chrono::seconds(0);  // TCP only
            auto listener = net::listen_unix(address.unix_path, lo);
            if (!listener) return fail(listener.error());
            if (!address.unix_path.starts_with('@')) files.push_back(address.unix_path);
            // Unix sockets have no SO_REUSEPORT: the workers share one listener.
            for (std::size_t w = 1; w < count; ++w) {
                const int copy = ::fcntl(listener->native_handle(), F_DUPFD_CLOEXEC, 0);
                if (copy < 0) return fail(last_system_error());
                per_worker[w].emplace_back(copy);
            }
            per_worker[0].push_back(std::move(*listener));
            families.push_back(AF_UNIX);
            addresses.push_back(address.to_string());
            resets.push_back(false);
            deferred.push_back(false);
        }
    }
    const std::size_t limit = options_.max_connections == 0
                                  ? std::numeric_limits<std::size_t>::max()
                                  : (options_.max_connections + count - 1) / count;
    std::vector<std::unique_ptr<detail::worker>> workers;
    try {
        for (std::size_t w = 0; w < count; ++w) {
            std::vector<detail::listener_handle> handles;
            for (std::size_t i = 0; i < per_worker[w].size(); ++i) {
                handles.push_back(
                    {per_worker[w][i].release(), families[i] != AF_UNIX, resets[i], deferred[i]});
            }
            workers.push_back(
                std::make_unique<detail::worker>(options_, handler_, limit, std::move(handles), w));
        }
    } catch (const std::system_error& e) {
        return fail(e.code());  // no epoll or eventfd to be had; the workers made so far close
    }
    workers_ = std::move(workers);
    addresses_ = std::move(addresses);
    for (auto& w : workers_) w->start();
    return {};
}

void server::stop() {
    for (auto& w : workers_) w->stop();
}

void server::wait() {
    for (auto& w : workers_) w->join();
    if (workers_.empty() || files_removed_) return;
    files_removed_ = true;
    // The socket files go with the server (abstract names vanish by themselves).
    for (const auto& address : options_.listen) {
        if (!address.tcp && !address.unix_path.starts_with('@')) {
            ::unlink(address.unix_path.c_str());
        }
    }
}

server_stats server::stats() const {
    server_stats s;
    for (const auto& w : workers_) {
        const auto& c = w->counters();
        s.connections_accepted += c.accepted.get();
        s.connections_refused += c.refused.get();
        s.connections_open += c.open.get();
        s.requests += c.requests.get();
        s.rejected_requests += c.rejected.get();
        s.header_timeouts += c.header_timeouts.get();
        s.idle_timeouts += c.idle_timeouts.get();
        s.closed_time_wait_here += c.time_wait_here.get();
        s.closed_time_wait_peer += c.time_wait_peer.get();
        s.closed_reset += c.reset.get();
        s.closed_not_tcp += c.not_tcp.get();
    }
    return s;
}

}  // namespace waitless::http
