#include "waitless/core/error.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace waitless {

std::error_code last_system_error() { return {errno, std::system_category()}; }

void assert_failed(std::string_view condition, const char* file, int line) {
    std::fprintf(stderr, "waitless: invariant failed: %.*s at %s:%d\n",
                 static_cast<int>(condition.size()), condition.data(), file, line);
    std::abort();
}

}  // namespace waitless

namespace waitless::core {
namespace {

std::string_view describe(errc e) {
    switch (e) {
        case errc::malformed_input:
            return "malformed input";
        case errc::netns_not_found:
            return "no such network namespace";
        case errc::truncated:
            return "input ended early";
        case errc::out_of_range:
            return "value out of range";
    }
    return "unknown core error";
}

}  // namespace

const std::error_category& category() {
    static const core::enum_category<errc> instance("waitless.core", describe);
    return instance;
}

std::error_code make_error_code(errc e) { return {static_cast<int>(e), category()}; }

}  // namespace waitless::core
