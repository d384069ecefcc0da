// Finding the fixed token count whose mean PSNR equals a given one (for the adaptive mode's saving in bytes).
#pragma once

#include <functional>

namespace odp::bench {

struct RatePoint {
  double psnr = 0, bytes = 0;  // means over the images
};

struct FixedMatch {
  bool reachable = false;    // false: even max_tokens stays below the target PSNR
  int below = 0, above = 0;  // neighbouring token counts around the target (equal when exact or at 1)
  double bytes = 0;          // interpolated linearly in PSNR between the two counts
};

// Bisection over 1..max_tokens for the smallest count whose mean PSNR reaches target_psnr, assuming the mean
// PSNR does not fall as the count grows. mean_at is called for O(log max_tokens) counts (callers cache it).
FixedMatch fixed_tokens_at_psnr(double target_psnr, int max_tokens,
                                const std::function<RatePoint(int)>& mean_at);

}  // namespace odp::bench
