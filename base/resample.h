// Bicubic resizing of 8-bit RGB images: the codec's coded-size downscale and upsample, the benchmark's
// anchors and ThumbHash (one implementation for all).
#pragma once

#include "base/error.h"
#include "base/image.h"

namespace odp::base {

// Separable bicubic (Keys, a = -0.5, as Pillow's BICUBIC). When shrinking, the kernel is stretched by the
// scale factor so that it also low-passes (no aliasing); weights at the image edge are renormalised.
// Throws Error (kUsage) for a non-positive target size or a source whose pixels do not match its size.
Image resize_bicubic(const Image& source, int width, int height);

// The size a downscale by `divisor` gives: round(width / divisor) x round(height / divisor), at least 1x1.
void scaled_size(int width, int height, double divisor, int* out_width, int* out_height);

}  // namespace odp::base
