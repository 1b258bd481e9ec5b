// A log-linear histogram of durations in nanoseconds: exact below 128 ns, then 64 linear
// sub-buckets per power of two, so a percentile is within 1/64 (1.6%) of the true value. Fixed
// size (about 30 KiB), no allocation when recording; one per worker, merged at the end.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace waitless::loadgen {

class histogram {
  public:
    void record(std::uint64_t value) {
        ++counts_[index_of(value)];
        ++count_;
        sum_ += value;
        if (value > max_) max_ = value;
        if (value < min_) min_ = value;
    }
    void merge(const histogram& other);

    std::uint64_t count() const { return count_; }
    std::uint64_t max() const { return count_ ? max_ : 0; }
    std::uint64_t min() const { return count_ ? min_ : 0; }
    double mean() const {
        return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
    }
    // The value at or below which p percent of the recorded values lie (0 < p <= 100): the
    // highest value of the bucket that holds it, never past max(). 0 when empty.
    std::uint64_t percentile(double p) const;

    static constexpr unsigned sub_bits = 7;  // 128 values exact, then 64 per power of two
    static constexpr std::size_t bucket_count = 128 + (64 - sub_bits) * 64;
    static std::size_t index_of(std::uint64_t value) {
        if (value < 128) return static_cast<std::size_t>(value);
        const unsigned msb = 63U - static_cast<unsigned>(__builtin_clzll(value));
        const unsigned shift = msb - (sub_bits - 1);  // value >> shift is in [64, 128)
        return 128 + (shift - 1) * 64 + static_cast<std::size_t>((value >> shift) - 64);
    }
    // The highest value that index_of() puts in bucket i.
    static std::uint64_t highest_in(std::size_t i);

  private:
    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t max_ = 0;
    std::uint64_t min_ = UINT64_MAX;
};

}  // namespace waitless::loadgen
