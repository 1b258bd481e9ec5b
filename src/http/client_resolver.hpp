// Name resolution for the client: getaddrinfo never runs on a loop's thread (a helper thread
// does it and posts the answer back), and answers are cached for a bounded time.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "waitless/core/address.hpp"
#include "waitless/core/error.hpp"
#include "waitless/io/loop.hpp"
#include "waitless/io/task.hpp"

namespace waitless::http::detail {

using address_list = std::vector<core::ip_address>;

class resolver {
  public:
    explicit resolver(std::chrono::milliseconds ttl) : ttl_(ttl) {}

    // Every address of host in getaddrinfo's order (client_errc::resolve_failed if none). An
    // IP literal or a cached answer comes back without suspending; callers asking for a name
    // already being looked up wait for that lookup. The loop must outlive a lookup in flight
    // (getaddrinfo's own timeouts bound it). Always from the same loop.
    io::task<result<address_list>> resolve(io::loop& l, std::string host);
    // The same on the calling thread, blocking: for the blocking face's pool threads.
    result<address_list> resolve_blocking(const std::string& host);
    // Drops answers past their time.
    void prune();
    // Keeps addresses for host as if a lookup had found them (tests, static entries).
    void remember(const std::string& host, const address_list& addresses);

  private:
    static result<address_list> lookup_blocking(const std::string& host);
    void store(const std::string& host, const address_list& addresses);

    std::chrono::milliseconds ttl_;
    std::mutex mutex_;  // the blocking face's pool threads share the cache
    struct entry {
        address_list addresses;
        std::chrono::steady_clock::time_point expires;
    };
    std::unordered_map<std::string, entry> cache_;
    // Lookups in flight, so concurrent connects to one name share one (loop face only).
    struct lookup;
    std::unordered_map<std::string, std::shared_ptr<lookup>> pending_;
};

}  // namespace waitless::http::detail
