// Errors shared by every module: result<T>, the core error category and the fatal assert.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <system_error>

namespace waitless {

// Synchronous calls return a value or an error code; network failures are values.
template <class T>
using result = std::expected<T, std::error_code>;

// The error of the last failed system call, as a std::error_code.
std::error_code last_system_error();

// (file and line rather than std::source_location: clang 14, used for fuzzing, lacks it)
[[noreturn]] void assert_failed(std::string_view condition, const char* file, int line);

}  // namespace waitless

namespace waitless::core {

enum class errc {
    malformed_input = 1,  // a file, reply or argument could not be parsed
    netns_not_found,      // no network namespace of that name
    truncated,            // a reply or file ended before its declared length
    out_of_range,         // a number outside the range it must be in
};

const std::error_category& category();
std::error_code make_error_code(errc e);

// The std::error_category of a module's errc: its name, and a function that says what each
// value means. Each module keeps one as a function-local static.
template <class Errc>
class enum_category final : public std::error_category {
  public:
    using describe_fn = std::string_view (*)(Errc);
    enum_category(const char* name, describe_fn describe) noexcept
        : name_(name), describe_(describe) {}
    const char* name() const noexcept override { return name_; }
    std::string message(int value) const override {
        return std::string(describe_(static_cast<Errc>(value)));
    }

  private:
    const char* name_;
    describe_fn describe_;
};

}  // namespace waitless::core

template <>
struct std::is_error_code_enum<waitless::core::errc> : std::true_type {};

// An invariant: fatal in every build type, unlike assert().
#define WAITLESS_ASSERT(condition) \
    ((condition) ? static_cast<void>(0) : ::waitless::assert_failed(#condition, __FILE__, __LINE__))
