// The waitless.net error category.
#include "waitless/net/error.hpp"

#include <gtest/gtest.h>

namespace waitless::net {
namespace {

TEST(NetError, CodesCarryTheirCategoryAndMessage) {
    const std::error_code ec = errc::data_would_be_lost;
    EXPECT_EQ(&ec.category(), &category());
    EXPECT_STREQ(ec.category().name(), "waitless.net");
    EXPECT_EQ(ec.message(), "abortive close refused: data would be lost");
    EXPECT_EQ(std::error_code(errc::connect_timeout).message(), "connect timed out");
}

TEST(NetError, EveryCodeHasItsOwnMessage) {
    for (int value = 1; value <= static_cast<int>(errc::accept_timeout); ++value) {
        EXPECT_NE(category().message(value), "unknown net error") << value;
    }
    EXPECT_EQ(category().message(0), "unknown net error");
}

TEST(NetError, DiffersFromSystemErrorsOfTheSameValue) {
    const std::error_code ours = errc::connect_timeout;
    EXPECT_NE(ours, std::error_code(1, std::system_category()));
}

}  // namespace
}  // namespace waitless::net
