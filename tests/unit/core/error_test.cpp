#include "waitless/core/error.hpp"

#include <gtest/gtest.h>

namespace waitless::core {
namespace {

TEST(CoreError, CodesCarryTheirCategoryAndMessage) {
    const std::error_code ec = errc::netns_not_found;
    EXPECT_EQ(&ec.category(), &category());
    EXPECT_EQ(ec.message(), "no such network namespace");
    EXPECT_STREQ(ec.category().name(), "waitless.core");
}

TEST(CoreError, AssertIsFatalInEveryBuild) {
    EXPECT_DEATH(WAITLESS_ASSERT(1 + 1 == 3), "invariant failed: 1 \\+ 1 == 3");
}

}  // namespace
}  // namespace waitless::core
