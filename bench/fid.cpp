// FID for odp-bench on LibTorch: TorchScript feature network, exact Fréchet distance, per-point report.
#include "bench/fid.h"

#include <ATen/ATen.h>
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "bench/image_tensor.h"
#include "bench/report.h"

namespace odp::bench {
namespace {

at::Tensor to_matrix(const FeatureSet& set, size_t dims) {
  at::Tensor m = at::empty({static_cast<int64_t>(set.size()), static_cast<int64_t>(dims)}, at::kDouble);
  auto rows = m.accessor<double, 2>();
  for (size_t i = 0; i < set.size(); ++i)
    for (size_t j = 0; j < dims; ++j) rows[i][j] = set[i][j];
  return m;
}

// LibTorch's message without its backtrace, cut to a length that fits in one error line.
std::string short_message(const c10::Error& error) {
  std::string message = error.what_without_backtrace();
  if (message.size() > 300) message = message.substr(0, 300) + "...";
  return message;
}

}  // namespace

double frechet_distance(const FeatureSet& a, const FeatureSet& b) {
  if (a.size() < 2 || b.size() < 2)
    throw BenchError("FID needs at least 2 images in each set (got " + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()) + ")");
  const size_t dims = a.front().size();
  for (const FeatureSet* set : {&a, &b})
    for (const auto& v : *set)
      if (v.size() != dims || dims == 0) throw BenchError("FID: feature vectors of different lengths");
  const at::Tensor fa = to_matrix(a, dims), fb = to_matrix(b, dims);
  const at::Tensor mean_a = fa.mean(0), mean_b = fb.mean(0);
  const at::Tensor xa = fa - mean_a, xb = fb - mean_b;
  const double na1 = static_cast<double>(a.size() - 1), nb1 = static_cast<double>(b.size() - 1);
  const double means = (mean_a - mean_b).pow(2).sum().item<double>();
  const double trace_a = xa.pow(2).sum().item<double>() / na1, trace_b = xb.pow(2).sum().item<double>() / nb1;
  const double cross = at::linalg_svdvals(xb.mm(xa.t())).sum().item<double>() / std::sqrt(na1 * nb1);
  // Mathematically >= 0; rounding can leave a tiny negative for (nearly) identical sets.
  return std::max(0.0, means + trace_a + trace_b - 2.0 * cross);
}

struct FidNetwork::Impl {
  std::string path;
  at::Device device = at::kCPU;
  mutable torch::jit::script::Module module;
  int dims = 0;

  std::vector<float> run(const Image& image) const {
    at::Tensor out;
    try {
      torch::NoGradGuard no_grad;
      const at::IValue result = module.forward({image_to_tensor(image, device, "FID")});
      if (!result.isTensor()) throw BenchError(path + ": the FID network must return one tensor");
      out = result.toTensor();
    } catch (const c10::Error& error) {
      throw BenchError(path + ": the FID network failed on a " + std::to_string(image.width) + "x" +
                       std::to_string(image.height) + " image: " + short_message(error));
    }
    if (out.dim() < 2 || out.size(0) != 1)
      throw BenchError(path + ": the FID network must return [N, D] features for N images (got " +
                       std::to_string(out.dim()) + " dimensions, first of size " +
                       (out.dim() > 0 ? std::to_string(out.size(0)) : std::string("-")) + ")");
    out = out.flatten(1).to(at::kCPU, at::kFloat).contiguous();
    if (out.size(1) < 1 || out.size(1) > (1 << 20))
      throw BenchError(path + ": the FID network gives " + std::to_string(out.size(1)) +
                       " features per image; expected 1..1048576");
    if (!at::isfinite(out).all().item<bool>())
      throw BenchError(path + ": the FID network gave a non-finite feature");
    return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
  }
};

FidNetwork::FidNetwork(const std::string& path, odp::model::Device device) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->device = device == odp::model::Device::kCuda ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  try {
    impl_->module = torch::jit::load(path, impl_->device);
  } catch (const c10::Error& error) {
    throw BenchError(path +
                     ": cannot load it as a TorchScript file (torch.jit.save): " + short_message(error));
  }
  impl_->module.eval();
  Image probe;
  probe.width = probe.height = 64;
  probe.rgb.assign(64 * 64 * 3, 128);
  impl_->dims = static_cast<int>(impl_->run(probe).size());
}

FidNetwork::~FidNetwork() = default;
FidNetwork::FidNetwork(FidNetwork&&) noexcept = default;
FidNetwork& FidNetwork::operator=(FidNetwork&&) noexcept = default;

const std::string& FidNetwork::path() const { return impl_->path; }
int FidNetwork::dims() const { return impl_->dims; }

std::vector<float> FidNetwork::features(const Image& image) const {
  std::vector<float> f = impl_->run(image);
  if (static_cast<int>(f.size()) != impl_->dims)
    throw BenchError(impl_->path + ": the FID network gave " + std::to_string(f.size()) + " features for a " +
                     std::to_string(image.width) + "x" + std::to_string(image.height) + " image, " +
                     std::to_string(impl_->dims) + " for the probe");
  return f;
}

void FidCollector::add_original(const Image& image) { originals_.push_back(network_.features(image)); }

void FidCollector::add(const std::string& codec, const std::string& point, const Image& reconstruction) {
  if (std::find(points_.begin(), points_.end(), point) == points_.end()) points_.push_back(point);
  if (std::find(codecs_.begin(), codecs_.end(), codec) == codecs_.end()) codecs_.push_back(codec);
  sets_[{point, codec}].push_back(network_.features(reconstruction));
}

std::string FidCollector::markdown() const {
  std::ostringstream md;
  md << "## FID\n\nFréchet distance between the features of the " << originals_.size()
     << " originals and those of each codec's reconstructions at a point (images that reached it), features "
        "from "
     << network_.path() << " (" << network_.dims()
     << " values per image). Lower is better. With fewer images than "
     << "feature values the estimate is biased upwards and noisy: compare codecs at the same point and image "
        "count, not with published FIDs.\n\n| point |";
  for (const auto& codec : codecs_) md << ' ' << codec << " |";
  md << "\n|---|";
  for (size_t i = 0; i < codecs_.size(); ++i) md << "---:|";
  md << '\n';
  for (const auto& point : points_) {
    md << "| " << point << " |";
    for (const auto& codec : codecs_) {
      const auto found = sets_.find({point, codec});
      if (found == sets_.end() || found->second.size() < 2 || originals_.size() < 2) {
        md << " – |";
        continue;
      }
      md << ' ' << format_number(frechet_distance(originals_, found->second), 1) << " ("
         << found->second.size() << ") |";
    }
    md << '\n';
  }
  return md.str();
}

}  // namespace odp::bench
