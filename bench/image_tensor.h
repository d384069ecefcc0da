// Bench images as LibTorch tensors, for the networks odp-bench measures with (LPIPS, FID).
#pragma once

#include <ATen/ATen.h>

#include "base/image.h"

namespace odp::bench {

// Interleaved 8-bit RGB -> [1, 3, H, W] float in [0, 1] on `device`. Throws BenchError when the pixel buffer
// does not match the image's size (`what` names the measure in the message).
at::Tensor image_to_tensor(const odp::base::Image& image, const at::Device& device, const char* what);

}  // namespace odp::bench
