// Counts heap allocations by replacing the global operator new: include it in exactly one
// source file of a binary (a test or a benchmark of what must not allocate).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace waitless::test {
inline std::atomic<std::uint64_t> allocations{0};
}  // namespace waitless::test

// Not inlined: g++ 12 would otherwise see, at each new/delete pair of the including file, a
// free() of memory from operator new (or a delete of memory from malloc) and warn
// -Wmismatched-new-delete, though the two replacements do match.
[[gnu::noinline]] void* operator new(std::size_t n) {
    waitless::test::allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
