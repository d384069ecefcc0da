// LPIPS-alex (v0.1) on LibTorch: reads the weights file, runs AlexNet's features, compares the taps.
#include "train/lpips.h"

#include <fstream>
#include <iterator>

#include "base/error.h"
#include "base/file_io.h"
#include "model/safetensors.h"

namespace odp::model {
namespace {

// torchvision's alexnet().features, as lpips.pretrained_networks.alexnet slices it:
// slice1 = [0] conv 3->64 k11 s4 p2, [1] relu; slice2 = [2] maxpool 3/2, [3] conv 64->192 k5 p2, [4] relu;
// slice3 = [5] maxpool, [6] conv 192->384 k3 p1, [7] relu; slice4 = [8] conv 384->256 k3 p1, [9] relu;
// slice5 = [10] conv 256->256 k3 p1, [11] relu. One tap after each slice.
struct ConvSpec {
  const char* prefix;  // "net.sliceS.I"
  int64_t in, out, kernel, stride, padding;
  bool pool_before;
};
constexpr ConvSpec kConvs[5] = {{"net.slice1.0", 3, 64, 11, 4, 2, false},
                                {"net.slice2.3", 64, 192, 5, 1, 2, true},
                                {"net.slice3.6", 192, 384, 3, 1, 1, true},
                                {"net.slice4.8", 384, 256, 3, 1, 1, false},
                                {"net.slice5.10", 256, 256, 3, 1, 1, false}};

std::string shape_text(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<uint8_t> read_file(const std::string& path) {
  try {
    return base::read_file(path);
  } catch (const base::Error& error) {
    throw ModelError(std::string("LPIPS weights: ") + error.what());
  }
}

at::ScalarType dtype_of(const TensorBlob& blob, const std::string& name, const std::string& path) {
  if (blob.dtype == "F32") return at::kFloat;
  if (blob.dtype == "F16") return at::kHalf;
  if (blob.dtype == "BF16") return at::kBFloat16;
  throw ModelError("LPIPS weights " + path + ": tensor '" + name + "' has dtype " + blob.dtype +
                   "; LPIPS weights must be F32, F16 or BF16");
}

}  // namespace

const std::vector<LpipsTensor>& lpips_alex_tensors() {
  static const std::vector<LpipsTensor> tensors = [] {
    std::vector<LpipsTensor> t;
    for (const auto& c : kConvs) {
      t.push_back({std::string(c.prefix) + ".weight", {c.out, c.in, c.kernel, c.kernel}});
      t.push_back({std::string(c.prefix) + ".bias", {c.out}});
    }
    for (int k = 0; k < 5; ++k)  // NetLinLayer: model.0 is its Dropout, model.1 the 1x1 convolution
      t.push_back({"lin" + std::to_string(k) + ".model.1.weight", {1, kConvs[k].out, 1, 1}});
    return t;
  }();
  return tensors;
}

LpipsNet::LpipsNet(const std::string& path, at::Device device) : path_(path), device_(device) {
  const std::vector<uint8_t> bytes = read_file(path);
  SafetensorsFile file;
  try {
    file = parse_safetensors(bytes, path);
  } catch (const ModelError& e) {
    throw ModelError(std::string("LPIPS weights ") + e.what());
  }
  const auto& wanted = lpips_alex_tensors();
  std::vector<at::Tensor> loaded;
  for (const auto& t : wanted) {
    auto it = file.tensors.find(t.name);
    if (it == file.tensors.end())
      throw ModelError("LPIPS weights " + path + ": the file lacks tensor '" + t.name +
                       "' (it needs the state dict of lpips.LPIPS(net='alex'); see bench/README.md)");
    const TensorBlob& blob = it->second;
    if (blob.shape != t.shape)
      throw ModelError("LPIPS weights " + path + ": tensor '" + t.name + "' has shape " +
                       shape_text(blob.shape) + ", LPIPS-alex needs " + shape_text(t.shape) +
                       " (is this the AlexNet variant, net='alex'?)");
    const at::ScalarType dtype = dtype_of(blob, t.name, path);
    at::Tensor source =
        at::from_blob(const_cast<uint8_t*>(blob.data.data()), blob.shape, at::TensorOptions().dtype(dtype));
    at::Tensor value = source.to(at::kFloat).clone().to(device_);  // clone: `file` goes away
    if (!at::isfinite(value).all().item<bool>())
      throw ModelError("LPIPS weights " + path + ": tensor '" + t.name + "' holds a NaN or infinity");
    loaded.push_back(value);
  }
  for (int k = 0; k < 5; ++k) {
    weight_[k] = loaded[2 * k];
    bias_[k] = loaded[2 * k + 1];
    lin_[k] = loaded[10 + k];
  }
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  shift_ = at::tensor({-.030f, -.088f, -.188f}, opts).view({1, 3, 1, 1}).to(device_);
  scale_ = at::tensor({.458f, .448f, .450f}, opts).view({1, 3, 1, 1}).to(device_);
}

std::vector<at::Tensor> LpipsNet::features(const at::Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != 3)
    throw ModelError("LPIPS needs images of shape [B, 3, H, W]; these are " + shape_text(images.sizes()));
  const int64_t height = images.size(2), width = images.size(3);
  if (width < kMinSide || height < kMinSide)
    throw ModelError("LPIPS (AlexNet) needs images of at least " + std::to_string(kMinSide) + "x" +
                     std::to_string(kMinSide) + " pixels; this one is " + std::to_string(width) + "x" +
                     std::to_string(height));
  // [B, 3, H, W] in [0, 1] -> [-1, 1] -> ScalingLayer.
  at::Tensor x = images.to(device_, at::kFloat);
  x = (x * 2 - 1 - shift_) / scale_;
  std::vector<at::Tensor> taps;
  for (int k = 0; k < 5; ++k) {
    if (kConvs[k].pool_before) x = at::max_pool2d(x, {3, 3}, {2, 2});
    x = at::relu(at::conv2d(x, weight_[k], bias_[k], {kConvs[k].stride, kConvs[k].stride},
                            {kConvs[k].padding, kConvs[k].padding}));
    // lpips.normalize_tensor: x / (sqrt(sum_c x^2) + 1e-10)
    taps.push_back(x / (x.pow(2).sum(1, /*keepdim=*/true).sqrt() + 1e-10));
  }
  return taps;
}

at::Tensor LpipsNet::distance(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) const {
  if (a.size() != 5 || b.size() != 5)
    throw ModelError("LPIPS: features need five taps; these have " + std::to_string(a.size()) + " and " +
                     std::to_string(b.size()));
  at::Tensor total;
  for (int k = 0; k < 5; ++k) {
    if (!a[k].sizes().equals(b[k].sizes()))
      throw ModelError("LPIPS: tap " + std::to_string(k) + " has shape " + shape_text(a[k].sizes()) +
                       " and " + shape_text(b[k].sizes()) + "; the images must have one shape");
    const at::Tensor diff = (a[k] - b[k]).pow(2);
    // NetLinLayer (1x1, no bias), spatial_average
    const at::Tensor term = at::conv2d(diff, lin_[k]).mean({1, 2, 3});
    total = k == 0 ? term : total + term;
  }
  return total;
}

at::Tensor LpipsNet::distance(const at::Tensor& a, const at::Tensor& b) const {
  if (!a.sizes().equals(b.sizes()))
    throw ModelError("LPIPS: the images have shapes " + shape_text(a.sizes()) + " and " +
                     shape_text(b.sizes()));
  return distance(features(a), features(b));
}

}  // namespace odp::model
