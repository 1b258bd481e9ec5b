#include "waitless/pool/error.hpp"

#include <string>

namespace waitless::pool {
namespace {

std::string_view describe(errc e) {
    switch (e) {
        case errc::timeout:
            return "timed out waiting for a pooled resource";
        case errc::too_many_waiters:
            return "too many callers waiting for the pool";
        case errc::draining:
            return "the pool is draining";
        case errc::create_failed:
            return "the factory failed to create a resource";
        case errc::create_timeout:
            return "creating a resource timed out";
        case errc::cancelled:
            return "the acquire was cancelled";
        case errc::would_block:
            return "no idle resource";
        case errc::invalid_size:
            return "invalid pool size";
    }
    return "unknown pool error";
}

}  // namespace

const std::error_category& category() {
    static const core::enum_category<errc> instance("waitless.pool", describe);
    return instance;
}

std::error_code make_error_code(errc e) { return {static_cast<int>(e), category()}; }

}  // namespace waitless::pool
