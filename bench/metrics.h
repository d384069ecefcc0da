// Image quality measures for the benchmark: PSNR (RGB, Y), SSIM, MS-SSIM and a multi-scale sliced
// Wasserstein distance (a distribution measure that needs no downloaded network).
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "base/image.h"

namespace odp::bench {

// Every failure in bench/ (bad arguments, images that cannot be compared, a missing tool) is reported as
// this.
class BenchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using odp::base::Image;

// Throws BenchError unless both images have the same, non-zero size.
void require_same_size(const Image& reference, const Image& test, const char* what);

// PSNR in dB over all RGB samples, peak 255. Identical images give +infinity.
double psnr_rgb(const Image& reference, const Image& test);
// PSNR in dB of BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B (unrounded, 0..255 scale).
double psnr_y(const Image& reference, const Image& test);

// SSIM (Wang et al. 2004): Gaussian window 11x11, sigma 1.5, K1 0.01, K2 0.03, 'valid' windows only,
// computed per R, G, B channel and averaged over the three (as pytorch_msssim / CompressAI do).
// Images smaller than 11 pixels on a side fall back to one window covering the whole image.
double ssim(const Image& reference, const Image& test);

// MS-SSIM (Wang et al. 2003): 5 scales with weights 0.0448 0.2856 0.3001 0.2363 0.1333, 2x2 mean pooling
// between scales, contrast-structure terms at the first four scales and full SSIM at the last, per RGB
// channel then averaged. Negative terms are clamped to 0. Images too small for 5 scales of 11x11 windows
// (below 176 px on the short side) use as many scales as fit, with the weights renormalised.
double ms_ssim(const Image& reference, const Image& test);

// Sliced Wasserstein distance over Laplacian-pyramid 7x7 patches (Karras et al. 2018, "Progressive
// growing of GANs"). Reference descriptors can be computed once and reused for many test images.
struct SwdOptions {
  int min_level_size = 16;        // coarsest pyramid level (short side), as in Karras et al.
  int max_patches = 1024;         // patches per level, taken on a regular grid
  int directions = 512;           // random unit projections (Karras: 4 repeats x 128)
  uint64_t seed = 0x5eed'0dbULL;  // fixed so that results are reproducible
};
struct SwdReference {
  SwdOptions options;
  int width = 0, height = 0;
  // Per level: the per-channel mean/std used to normalise both images, and the sorted projections of the
  // reference patches (directions x patches).
  struct Level {
    float mean[3] = {0, 0, 0}, stddev[3] = {1, 1, 1};
    int patches = 0;
    std::vector<float> sorted_projections;
  };
  std::vector<Level> levels;
};
SwdReference swd_reference(const Image& reference, const SwdOptions& options = {});
// Mean over pyramid levels of the sliced Wasserstein distance, times 1000 (the unit of Karras et al.).
double swd(const SwdReference& reference, const Image& test);
double swd(const Image& reference, const Image& test, const SwdOptions& options = {});

// All measures of one reconstruction, as the report writes them. LPIPS (bench/lpips.h) is optional: NaN
// when it was not measured (odp-bench without --lpips, or an image below its minimum size).
struct Quality {
  double psnr_rgb = 0, psnr_y = 0, ssim = 0, ms_ssim = 0, swd = 0;
  double lpips = std::numeric_limits<double>::quiet_NaN();
};
Quality measure(const Image& reference, const SwdReference& swd_ref, const Image& test);

}  // namespace odp::bench
