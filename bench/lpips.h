// Optional LPIPS metric of odp-bench (Zhang et al. 2018, AlexNet, v0.1) from a user's weights file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench/metrics.h"
#include "model/tile_model.h"

namespace odp::bench {

// The network itself is odp::model::LpipsNet (train/lpips.h), which the trainer uses too; this is the bench's
// per-image interface over it. The tensors a weights file must hold: odp::model::lpips_alex_tensors().

struct LpipsFeatures;  // the five unit-normalised activation maps of one image (lpips.cpp)

// A reference image's features, computed once and compared with many reconstructions.
struct LpipsReference {
  int width = 0, height = 0;
  std::shared_ptr<const LpipsFeatures> features;
};

// LPIPS with the AlexNet trunk, as `lpips.LPIPS(net='alex', version='0.1')(a, b, normalize=True)` (the
// arithmetic: train/lpips.h). Lower is better, 0 for identical images.
class Lpips {
 public:
  // AlexNet needs this many pixels on the short side (two 3x3/2 max-pools after the stride-4 convolution).
  static constexpr int kMinSide = 31;

  // Reads and checks the file (F32, F16 or BF16 tensors; other tensors in it, e.g. scaling_layer.*, are
  // ignored). Throws BenchError naming the file, and the tensor when one is missing or misshaped.
  explicit Lpips(const std::string& path, odp::model::Device device = odp::model::Device::kCpu);
  ~Lpips();
  Lpips(Lpips&&) noexcept;
  Lpips& operator=(Lpips&&) noexcept;

  const std::string& path() const;
  static bool fits(const Image& image) { return image.width >= kMinSide && image.height >= kMinSide; }

  // Throws BenchError for an image smaller than kMinSide on a side.
  LpipsReference reference(const Image& image) const;
  // Throws BenchError unless `test` has the reference's size.
  double distance(const LpipsReference& reference, const Image& test) const;
  double distance(const Image& a, const Image& b) const;

 private:
  struct Net;
  std::unique_ptr<Net> net_;
};

}  // namespace odp::bench
