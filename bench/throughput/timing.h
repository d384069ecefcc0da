// Median wall time of a synchronous call: warm-up first, then repeats until a time budget is spent.
#pragma once

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

namespace odp::bench {

inline double median(std::vector<double> samples) {
  if (samples.empty()) return 0;
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return samples[samples.size() / 2];
}

// `call` must finish its device work before returning (synchronize inside it). Runs `warmups` untimed calls,
// then at least `min_repeats` timed ones and more until `seconds` have passed; returns the median in seconds.
template <typename Call>
double median_seconds(Call&& call, int warmups, double seconds, int min_repeats = 3) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < warmups; ++i) call();
  std::vector<double> samples;
  const auto budget_start = Clock::now();
  while (static_cast<int>(samples.size()) < min_repeats ||
         std::chrono::duration<double>(Clock::now() - budget_start).count() < seconds) {
    const auto start = Clock::now();
    call();
    samples.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return median(std::move(samples));
}

}  // namespace odp::bench
