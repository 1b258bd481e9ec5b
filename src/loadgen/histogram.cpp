#include "waitless/loadgen/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace waitless::loadgen {

void histogram::merge(const histogram& other) {
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
}

std::uint64_t histogram::highest_in(std::size_t i) {
    if (i < 128) return i;
    const std::size_t shift = (i - 128) / 64 + 1;
    const std::uint64_t sub = (i - 128) % 64 + 64;
    const std::uint64_t low = sub << shift;
    return low + ((std::uint64_t{1} << shift) - 1);
}

std::uint64_t histogram::percentile(double p) const {
    if (count_ == 0) return 0;
    p = std::clamp(p, 0.0, 100.0);
    // The rank of the value asked for, 1-based, as a sorted list would have it.
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::clamp(highest_in(i), min(), max_);
    }
    return max_;
}

}  // namespace waitless::loadgen
