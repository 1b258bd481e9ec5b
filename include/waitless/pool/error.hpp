// Errors of the pool module: waitless::pool::errc, registered as a std::error_code category.
#pragma once

#include <system_error>

#include "waitless/core/error.hpp"

namespace waitless::pool {

enum class errc {
    timeout = 1,       // no resource became available within acquire_timeout
    too_many_waiters,  // max_waiting callers already wait: fail fast rather than queue
    draining,          // the pool was drained or is being destroyed: no new acquires
    create_failed,     // the factory failed to create a resource and returned no error of its own
    create_timeout,    // the factory took longer than create_timeout to create a resource
    cancelled,         // the waiting caller cancelled (its stop_token, or its coroutine ended)
    would_block,       // try_acquire: no idle resource right now
    invalid_size,      // resize() with max == 0 or min > max
};

const std::error_category& category();
std::error_code make_error_code(errc e);

}  // namespace waitless::pool

template <>
struct std::is_error_code_enum<waitless::pool::errc> : std::true_type {};
