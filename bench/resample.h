// Bicubic resizing of 8-bit RGB images, used for the anchors' downscale-then-upscale search and ThumbHash.
#pragma once

#include "base/image.h"

namespace odp::bench {

// Separable bicubic (Keys, a = -0.5, as Pillow's BICUBIC). When shrinking, the kernel is stretched by the
// scale factor so that it also low-passes (no aliasing); weights at the image edge are renormalised.
// Throws BenchError for a non-positive target size or an empty source.
odp::base::Image resize_bicubic(const odp::base::Image& source, int width, int height);

// The size a downscale by `divisor` gives: round(width / divisor) x round(height / divisor), at least 1x1.
void scaled_size(int width, int height, double divisor, int* out_width, int* out_height);

}  // namespace odp::bench
