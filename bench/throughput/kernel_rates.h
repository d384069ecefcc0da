// Timings of the cuda/ kernels against the device's measured copy bandwidth (they are memory-bound).
#pragma once

#include <string>
#include <vector>

namespace odp::bench {

struct KernelRate {
  std::string name;    // kernel and problem size
  double seconds = 0;  // median per launch
  double bytes = 0;    // fewest bytes it must move: inputs read once, outputs written once
};

// The first entry is a device-to-device copy: its bytes over its time is the bandwidth ceiling.
std::vector<KernelRate> measure_kernel_rates(double seconds);

}  // namespace odp::bench
