// The one PSNR of odp on 8-bit samples (peak 255), used by rate control, the tools and the benchmark.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "base/image.h"

namespace odp::base {

// PSNR in dB of `count` 8-bit samples whose squared differences sum to sum_squared; +infinity when they are
// all equal (sum_squared == 0) or there are none.
inline double psnr_from_squared_error(double sum_squared, size_t count) {
  if (sum_squared <= 0 || count == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(255.0 * 255.0 * static_cast<double>(count) / sum_squared);
}

// PSNR in dB over all RGB samples of two images of the same size (else Error(kUsage)). Identical: +infinity.
double psnr(const Image& reference, const Image& decoded);

}  // namespace odp::base
