// How many CPUs this process may run on: the default number of workers.
#pragma once

#include <cstddef>

namespace waitless::core {

// The CPUs of this process's affinity mask (taskset, cgroups' cpusets); at least 1.
std::size_t usable_cpus();

}  // namespace waitless::core
