// Runs one awaitable to completion on an io_context, from a test's own thread.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <optional>
#include <utility>

namespace waitless::test {

// io must outlive whatever the awaitable leaves registered on it (a client's sockets).
template <class T>
T run_on(asio::io_context& io, asio::awaitable<T> a) {
    std::optional<T> out;
    asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
        if (e) std::rethrow_exception(e);
        out.emplace(std::move(v));
    });
    io.restart();
    io.run();
    return std::move(*out);
}

}  // namespace waitless::test
