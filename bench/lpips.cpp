// LPIPS-alex (v0.1) for odp-bench: one image at a time over model/'s LpipsNet, errors as BenchError.
#include "bench/lpips.h"

#include <ATen/ATen.h>

#include <utility>

#include "bench/image_tensor.h"
#include "train/lpips.h"

namespace odp::bench {

static_assert(Lpips::kMinSide == odp::model::LpipsNet::kMinSide,
              "bench and model disagree on LPIPS's minimum");

namespace {

// Runs `fn`, reporting model/'s errors (unreadable file, missing tensor, small image) as the bench's.
template <class Fn>
auto bench_errors(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const odp::model::ModelError& e) {
    throw BenchError(e.what());
  }
}

}  // namespace

struct LpipsFeatures {
  std::vector<at::Tensor> taps;  // 5 x [1, C, h, w], unit length over channels
};

struct Lpips::Net {
  odp::model::LpipsNet net;

  LpipsFeatures features(const Image& image) const {
    at::Tensor x = image_to_tensor(image, net.device(), "LPIPS");  // [1, 3, H, W] in [0, 1]
    return {bench_errors([&] { return net.features(x); })};
  }
};

Lpips::Lpips(const std::string& path, odp::model::Device device) {
  const at::Device at_device =
      device == odp::model::Device::kCuda ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  net_ = bench_errors([&] { return std::make_unique<Net>(Net{odp::model::LpipsNet(path, at_device)}); });
}

Lpips::~Lpips() = default;
Lpips::Lpips(Lpips&&) noexcept = default;
Lpips& Lpips::operator=(Lpips&&) noexcept = default;

const std::string& Lpips::path() const { return net_->net.path(); }

LpipsReference Lpips::reference(const Image& image) const {
  LpipsReference r;
  r.width = image.width, r.height = image.height;
  r.features = std::make_shared<const LpipsFeatures>(net_->features(image));
  return r;
}

double Lpips::distance(const LpipsReference& reference, const Image& test) const {
  if (!reference.features || test.width != reference.width || test.height != reference.height)
    throw BenchError("LPIPS: the image is " + std::to_string(test.width) + "x" + std::to_string(test.height) +
                     ", its reference " + std::to_string(reference.width) + "x" +
                     std::to_string(reference.height));
  const LpipsFeatures other = net_->features(test);
  return bench_errors([&] { return net_->net.distance(reference.features->taps, other.taps); })
      .item<double>();
}

double Lpips::distance(const Image& a, const Image& b) const {
  require_same_size(a, b, "LPIPS");
  return distance(reference(a), b);
}

}  // namespace odp::bench
