#include "waitless/pool/options.hpp"

#include <stdexcept>
#include <string>

namespace waitless::pool {
namespace {

void check_duration(duration d, const char* name) {
    if (d < duration::zero()) throw std::invalid_argument(std::string("pool: ") + name + " < 0");
}

}  // namespace

void check(const options& o) {
    if (o.max == 0) throw std::invalid_argument("pool: max must be at least 1");
    if (o.min > o.max) {
        throw std::invalid_argument("pool: min (" + std::to_string(o.min) + ") above max (" +
                                    std::to_string(o.max) + ")");
    }
    check_duration(o.acquire_timeout, "acquire_timeout");
    check_duration(o.create_timeout, "create_timeout");
    check_duration(o.validate_timeout, "validate_timeout");
    check_duration(o.destroy_timeout, "destroy_timeout");
    check_duration(o.idle_timeout, "idle_timeout");
    check_duration(o.max_lifetime, "max_lifetime");
    check_duration(o.validate_bypass, "validate_bypass");
    check_duration(o.retire_hysteresis, "retire_hysteresis");
    check_duration(o.leak_threshold, "leak_threshold");
    check_duration(o.maintenance_interval, "maintenance_interval");
    if (!(o.lifetime_jitter >= 0 && o.lifetime_jitter < 1)) {
        throw std::invalid_argument("pool: lifetime_jitter must be in [0, 1)");
    }
    if (!(o.max_closes_per_second >= 0)) {
        throw std::invalid_argument("pool: max_closes_per_second < 0");
    }
}

}  // namespace waitless::pool
