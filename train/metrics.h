// Image-quality measures on tensors (PSNR, MS-SSIM), used by training losses and the evaluation table.
#pragma once

#include <torch/torch.h>

namespace odp::model {

// a, b: [B,3,H,W] in [0,1]. Returns [B] PSNR in dB over all RGB values (peak 1.0), capped at 100 dB.
torch::Tensor psnr_per_image(const torch::Tensor& a, const torch::Tensor& b);
// MS-SSIM (Wang et al. 2003): 5 scales, 11x11 Gaussian window (sigma 1.5), weights 0.0448..0.1333, averaged
// over RGB. Returns [B]. Differentiable, so it also serves as a loss (1 - ms_ssim).
torch::Tensor ms_ssim(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace odp::model
