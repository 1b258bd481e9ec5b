// Option checks at construction and the pool error category.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "fixture.hpp"

namespace waitless::pool::testing {
namespace {

template <class Change>
std::string rejection(Change change) {
    options o;
    o.maintenance_interval = 0s;
    change(o);
    try {
        test_pool p(test_factory{}, o);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "accepted";
}

TEST(PoolOptions, ZeroMaxIsRejected) {
    EXPECT_NE(rejection([](options& o) { o.max = 0; }).find("max"), std::string::npos);
}

TEST(PoolOptions, MinAboveMaxIsRejectedWithBothNumbers) {
    const auto what = rejection([](options& o) {
        o.max = 2;
        o.min = 3;
    });
    EXPECT_NE(what.find("min (3) above max (2)"), std::string::npos) << what;
}

TEST(PoolOptions, NegativeTimeoutsAreRejectedByName) {
    EXPECT_NE(rejection([](options& o) { o.acquire_timeout = -1ms; }).find("acquire_timeout"),
              std::string::npos);
    EXPECT_NE(rejection([](options& o) { o.create_timeout = -1ms; }).find("create_timeout"),
              std::string::npos);
    EXPECT_NE(rejection([](options& o) { o.destroy_timeout = -1ms; }).find("destroy_timeout"),
              std::string::npos);
    EXPECT_NE(rejection([](options& o) { o.idle_timeout = -1ms; }).find("idle_timeout"),
              std::string::npos);
    EXPECT_NE(rejection([](options& o) { o.max_lifetime = -1ms; }).find("max_lifetime"),
              std::string::npos);
}

TEST(PoolOptions, JitterAndPacingOutOfRangeAreRejected) {
    EXPECT_NE(rejection([](options& o) { o.lifetime_jitter = 1.0; }), "accepted");
    EXPECT_NE(rejection([](options& o) { o.lifetime_jitter = -0.1; }), "accepted");
    EXPECT_NE(rejection([](options& o) { o.max_closes_per_second = -1; }), "accepted");
}

TEST(PoolOptions, DefaultsAreAccepted) {
    EXPECT_EQ(rejection([](options&) {}), "accepted");
    const options o;
    EXPECT_EQ(o.order, order::lifo);
    EXPECT_DOUBLE_EQ(o.lifetime_jitter, 0.025);
}

TEST(PoolOptions, ResizeRejectsInvalidSizesAtRunTime) {
    test_pool p(test_factory{}, [] {
        options o;
        o.maintenance_interval = 0s;
        return o;
    }());
    EXPECT_EQ(p.resize(0, 0).error(), errc::invalid_size);
    EXPECT_EQ(p.resize(2, 3).error(), errc::invalid_size);
    EXPECT_TRUE(p.resize(3, 1).has_value());
    expect_balanced(p);
}

TEST(PoolErrors, CategoryNamesAndMessages) {
    const std::error_code ec = errc::too_many_waiters;
    EXPECT_STREQ(ec.category().name(), "waitless.pool");
    EXPECT_EQ(ec.message(), "too many callers waiting for the pool");
    EXPECT_EQ(std::error_code(errc::timeout), make_error_code(errc::timeout));
    EXPECT_NE(std::error_code(errc::timeout), std::error_code(errc::draining));
    for (int v = 1; v <= static_cast<int>(errc::invalid_size); ++v) {
        EXPECT_NE(std::error_code(v, category()).message(), "unknown pool error");
    }
}

}  // namespace
}  // namespace waitless::pool::testing
