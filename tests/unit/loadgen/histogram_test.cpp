// The log-linear histogram: percentiles against a sorted reference, within its 1/64 precision.
#include "waitless/loadgen/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace waitless::loadgen {
namespace {

// The value a sorted list gives for percentile p: the ceil(p/100 * n)-th smallest.
std::uint64_t reference(const std::vector<std::uint64_t>& sorted, double p) {
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

void expect_close(std::uint64_t got, std::uint64_t want) {
    // The bucket's highest value: never below the true one, at most 1/64 above it.
    EXPECT_GE(got, want);
    EXPECT_LE(static_cast<double>(got), static_cast<double>(want) * (1.0 + 1.0 / 64) + 1)
        << "want " << want;
}

TEST(Histogram, EmptyGivesZeros) {
    histogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(50), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.min(), 0u);
}

TEST(Histogram, SmallValuesAreExact) {
    histogram h;
    for (std::uint64_t v = 0; v < 128; ++v) h.record(v);
    EXPECT_EQ(h.percentile(50), 63u);
    EXPECT_EQ(h.percentile(100), 127u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 127u);
}

TEST(Histogram, BucketsCoverEveryValueInOrder) {
    for (unsigned bit = 0; bit < 64; ++bit) {
        const std::uint64_t v = std::uint64_t{1} << bit;
        for (std::uint64_t x : {v, v + v / 3, v * 2 - 1}) {
            if (x < v) continue;  // overflow at the top bit
            const auto i = histogram::index_of(x);
            ASSERT_LT(i, histogram::bucket_count);
            EXPECT_GE(histogram::highest_in(i), x);
            if (i > 0) {
                EXPECT_LT(histogram::highest_in(i - 1), x);
            }
        }
    }
    EXPECT_EQ(histogram::index_of(UINT64_MAX), histogram::bucket_count - 1);
}

TEST(Histogram, PercentilesMatchASortedReference) {
    std::mt19937_64 random(42);
    // Latencies spread over six orders of magnitude, as a run with stalls gives.
    std::lognormal_distribution<double> latency(std::log(200'000.0), 1.5);
    std::vector<std::uint64_t> values;
    histogram h;
    for (int i = 0; i < 100'000; ++i) {
        const auto v = static_cast<std::uint64_t>(latency(random));
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
        SCOPED_TRACE(p);
        expect_close(h.percentile(p), reference(values, p));
    }
    EXPECT_EQ(h.percentile(100), values.back());
    EXPECT_EQ(h.max(), values.back());
    EXPECT_EQ(h.min(), values.front());
}

TEST(Histogram, MergeEqualsRecordingIntoOne) {
    std::mt19937_64 random(7);
    std::uniform_int_distribution<std::uint64_t> value(1, 50'000'000);
    histogram a, b, all;
    for (int i = 0; i < 10'000; ++i) {
        const auto v = value(random);
        (i % 2 ? a : b).record(v);
        all.record(v);
    }
    a.merge(b);
    EXPECT_EQ(a.count(), all.count());
    EXPECT_EQ(a.max(), all.max());
    EXPECT_EQ(a.min(), all.min());
    for (double p : {50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

}  // namespace
}  // namespace waitless::loadgen
