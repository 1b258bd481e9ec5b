// getaddrinfo on a helper thread, its answer posted back to the loop that asked.
#include "client_resolver.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <coroutine>
#include <cstring>
#include <thread>
#include <utility>

#include "waitless/http/client_error.hpp"

namespace waitless::http::detail {

result<address_list> resolver::lookup_blocking(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
        return std::unexpected(make_error_code(client_errc::resolve_failed));
    }
    address_list out;
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        core::ip_address ip;
        if (a->ai_family == AF_INET) {
            ip = core::ip_address::v4(
                reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr.s_addr);
        } else if (a->ai_family == AF_INET6) {
            std::uint8_t bytes[16];
            std::memcpy(bytes, &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
            ip = core::ip_address::v6(bytes);
        } else {
            continue;
        }
        bool seen = false;
        for (const auto& known : out) seen = seen || known == ip;
        if (!seen) out.push_back(ip);
    }
    ::freeaddrinfo(found);
    if (out.empty()) return std::unexpected(make_error_code(client_errc::resolve_failed));
    return out;
}

void resolver::store(const std::string& host, const address_list& addresses) {
    if (ttl_.count() <= 0) return;
    std::lock_guard lock(mutex_);
    cache_[host] = entry{addresses, std::chrono::steady_clock::now() + ttl_};
}

void resolver::prune() {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(cache_, [&](const auto& kv) { return now >= kv.second.expires; });
}

result<address_list> resolver::resolve_blocking(const std::string& host) {
    if (auto literal = core::ip_address::parse(host)) return address_list{*literal};
    {
        std::lock_guard lock(mutex_);
        auto it = cache_.find(host);
        if (it != cache_.end() && std::chrono::steady_clock::now() < it->second.expires) {
            return it->second.addresses;
        }
    }
    auto found = lookup_blocking(host);
    if (found) store(host, *found);
    return found;
}

// Shared with the helper thread, which may outlive the resolver.
struct resolver::lookup : std::enable_shared_from_this<lookup> {
    std::string host;
    result<address_list> out = std::unexpected(make_error_code(client_errc::resolve_failed));
    std::vector<std::coroutine_handle<>> waiting;
};

void resolver::remember(const std::string& host, const address_list& addresses) {
    std::lock_guard lock(mutex_);
    cache_[host] = entry{addresses, std::chrono::steady_clock::now() + ttl_};
}

io::task<result<address_list>> resolver::resolve(io::loop& l, std::string host) {
    if (auto literal = core::ip_address::parse(host)) co_return address_list{*literal};
    {
        std::lock_guard lock(mutex_);
        auto it = cache_.find(host);
        if (it != cache_.end() && std::chrono::steady_clock::now() < it->second.expires) {
            co_return it->second.addresses;
        }
    }
    // Trivially destructible on purpose: g++ 12 destroys an aggregate temporary awaited in
    // co_await twice, which a shared_ptr member does not survive.
    struct join {
        lookup* st;
        io::loop* l;
        bool start;  // the first asker starts the helper thread
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            st->waiting.push_back(h);
            if (!start) return;
            std::thread([st = st->shared_from_this(), &l = *l] {
                st->out = lookup_blocking(st->host);
                l.post([st] {
                    for (auto waiter : std::exchange(st->waiting, {})) waiter.resume();
                });
            }).detach();
        }
        void await_resume() const noexcept {}
    };
    auto& slot = pending_[host];
    const bool first = slot == nullptr;
    if (first) {
        slot = std::make_shared<lookup>();
        slot->host = host;
    }
    const std::shared_ptr<lookup> st = slot;
    co_await join{st.get(), &l, first};
    if (first) {
        pending_.erase(host);
        if (st->out) store(host, *st->out);
    }
    co_return st->out;
}

}  // namespace waitless::http::detail
