// Bisection on the token count and linear interpolation of bytes at the matched PSNR.
#include "bench/rate_match.h"

#include <algorithm>

namespace odp::bench {

FixedMatch fixed_tokens_at_psnr(double target_psnr, int max_tokens,
                                const std::function<RatePoint(int)>& mean_at) {
  FixedMatch match;
  if (max_tokens < 1 || mean_at(max_tokens).psnr < target_psnr) return match;
  match.reachable = true;
  int lo = 1, hi = max_tokens;
  if (mean_at(1).psnr >= target_psnr) hi = 1;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (mean_at(mid).psnr >= target_psnr)
      hi = mid;
    else
      lo = mid + 1;
  }
  match.above = hi;
  match.below = hi > 1 ? hi - 1 : hi;
  const RatePoint above = mean_at(match.above), below = mean_at(match.below);
  const double t = above.psnr > below.psnr ? (target_psnr - below.psnr) / (above.psnr - below.psnr) : 1.0;
  match.bytes = below.bytes + std::clamp(t, 0.0, 1.0) * (above.bytes - below.bytes);
  return match;
}

}  // namespace odp::bench
