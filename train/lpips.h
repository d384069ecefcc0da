// LPIPS-alex (v0.1) on LibTorch from a weights file: batched, differentiable (training loss, bench metric).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/tile_model.h"

namespace odp::model {

// One tensor an LPIPS-alex file must hold: its name (the `lpips` package's state-dict key, which carries
// torchvision's AlexNet `features` indices) and its shape.
struct LpipsTensor {
  std::string name;
  std::vector<int64_t> shape;
};
// net.slice1.0.weight/bias ... net.slice5.10.weight/bias (AlexNet's five convolutions) and
// lin0.model.1.weight ... lin4.model.1.weight (the linear heads, [1, C, 1, 1], no bias), in network order.
const std::vector<LpipsTensor>& lpips_alex_tensors();

// LPIPS with the AlexNet trunk, as `lpips.LPIPS(net='alex', version='0.1')(a, b, normalize=True)`:
// RGB in [0,1] -> [-1,1] -> ScalingLayer (shift -.030 -.088 -.188, scale .458 .448 .450) -> AlexNet's
// features up to the five ReLUs; per tap x / (sqrt(sum_c x^2) + 1e-10), squared difference, the 1x1 linear
// head, spatial mean; sum over the taps. Lower is better, 0 for identical images. The weights are frozen
// (no gradients); the images get gradients when they require them, so the distance serves as a loss.
class LpipsNet {
 public:
  // AlexNet needs this many pixels on the short side (two 3x3/2 max-pools after the stride-4 convolution).
  static constexpr int kMinSide = 31;

  // Reads and checks the file (F32, F16 or BF16 tensors; other tensors in it, e.g. scaling_layer.*, are
  // ignored) and keeps the weights in float32 on `device`. Throws ModelError naming the file, and the tensor
  // when one is missing or misshaped.
  LpipsNet(const std::string& path, at::Device device);

  const std::string& path() const { return path_; }
  const at::Device& device() const { return device_; }

  // images: [B, 3, H, W] float in [0, 1] on the net's device, H and W >= kMinSide (ModelError otherwise).
  // Returns the five taps [B, C, h, w], unit length over channels.
  std::vector<at::Tensor> features(const at::Tensor& images) const;
  // [B]: the LPIPS distance of each pair of images, from their features (ModelError unless shapes match).
  at::Tensor distance(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) const;
  // [B]: the same from two image batches [B, 3, H, W] of one shape.
  at::Tensor distance(const at::Tensor& a, const at::Tensor& b) const;

 private:
  std::string path_;
  at::Device device_;
  at::Tensor weight_[5], bias_[5], lin_[5];  // lin: [1, C, 1, 1]
  at::Tensor shift_, scale_;                 // ScalingLayer: [1, 3, 1, 1]
};

}  // namespace odp::model
