// One place for one pooled resource: its explicit state, timestamps and intrusive list links.
#pragma once

#include <cstdint>
#include <optional>
#include <source_location>

#include "waitless/pool/clock.hpp"
#include "waitless/pool/options.hpp"

namespace waitless::pool::detail {

// Every slot is in exactly one state; core::transition() is the only code that changes it.
enum class slot_state : std::uint8_t { empty, creating, idle, borrowed, validating, closing };
inline constexpr std::size_t slot_state_count = 6;

template <class T>
struct slot {
    // Present only while idle or borrowed: factory calls own the resource while they run, so
    // an abandoned (timed-out) call never races with the slot's next occupant.
    std::optional<T> resource;
    slot_state state = slot_state::empty;
    close_reason reason = close_reason::none;
    bool leak_reported = false;
    bool job_running = false;  // a worker is in the factory call (queued calls are not timed)
    // Bumped when a factory call is abandoned, so its late completion is recognised.
    std::uint32_t generation = 0;
    std::uint64_t uses = 0;
    time_point expires_at = time_point::max();
    time_point last_used{};
    time_point borrowed_at{};
    time_point job_started{};
    std::source_location acquired_at;
    // Idle list (doubly linked) or free list of empty slots (next only).
    slot* prev = nullptr;
    slot* next = nullptr;
};

// What a lease returns its slot to, independent of the factory type.
template <class T>
class lease_owner {
  public:
    virtual ~lease_owner() = default;
    virtual void give_back(slot<T>& s, bool invalidate) noexcept = 0;
};

}  // namespace waitless::pool::detail
