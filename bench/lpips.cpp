// LPIPS-alex (v0.1) on LibTorch: reads the weights file, runs AlexNet's features, compares the taps.
#include "bench/lpips.h"

#include <ATen/ATen.h>

#include <fstream>
#include <iterator>

#include "bench/image_tensor.h"
#include "model/safetensors.h"

namespace odp::bench {
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

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BenchError("LPIPS weights " + path + ": cannot open the file");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw BenchError("LPIPS weights " + path + ": cannot read the file");
  return bytes;
}

at::ScalarType dtype_of(const odp::model::TensorBlob& blob, const std::string& name,
                        const std::string& path) {
  if (blob.dtype == "F32") return at::kFloat;
  if (blob.dtype == "F16") return at::kHalf;
  if (blob.dtype == "BF16") return at::kBFloat16;
  throw BenchError("LPIPS weights " + path + ": tensor '" + name + "' has dtype " + blob.dtype +
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

struct LpipsFeatures {
  std::vector<at::Tensor> taps;  // 5 x [1, C, h, w], unit length over channels
};

struct Lpips::Net {
  std::string path;
  at::Device device = at::kCPU;
  at::Tensor weight[5], bias[5], lin[5];  // lin: [1, C, 1, 1]
  at::Tensor shift, scale;                // ScalingLayer: [1, 3, 1, 1]

  LpipsFeatures features(const Image& image) const {
    if (!Lpips::fits(image))
      throw BenchError("LPIPS (AlexNet) needs images of at least " + std::to_string(kMinSide) + "x" +
                       std::to_string(kMinSide) + " pixels; this one is " + std::to_string(image.width) +
                       "x" + std::to_string(image.height));
    // [1, 3, H, W] in [0, 1] -> [-1, 1] -> ScalingLayer.
    at::Tensor x = image_to_tensor(image, device, "LPIPS");
    x = (x * 2 - 1 - shift) / scale;
    LpipsFeatures f;
    for (int k = 0; k < 5; ++k) {
      if (kConvs[k].pool_before) x = at::max_pool2d(x, {3, 3}, {2, 2});
      x = at::relu(at::conv2d(x, weight[k], bias[k], {kConvs[k].stride, kConvs[k].stride},
                              {kConvs[k].padding, kConvs[k].padding}));
      // lpips.normalize_tensor: x / (sqrt(sum_c x^2) + 1e-10)
      f.taps.push_back(x / (x.pow(2).sum(1, /*keepdim=*/true).sqrt() + 1e-10));
    }
    return f;
  }
};

Lpips::Lpips(const std::string& path, odp::model::Device device) : net_(std::make_unique<Net>()) {
  net_->path = path;
  net_->device = device == odp::model::Device::kCuda ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  odp::model::SafetensorsFile file;
  try {
    file = odp::model::parse_safetensors(read_file(path), path);
  } catch (const odp::model::ModelError& e) {
    throw BenchError(std::string("LPIPS weights ") + e.what());
  }
  const auto& wanted = lpips_alex_tensors();
  std::vector<at::Tensor> loaded;
  for (const auto& t : wanted) {
    auto it = file.tensors.find(t.name);
    if (it == file.tensors.end())
      throw BenchError("LPIPS weights " + path + ": the file lacks tensor '" + t.name +
                       "' (it needs the state dict of lpips.LPIPS(net='alex'); see bench/README.md)");
    const odp::model::TensorBlob& blob = it->second;
    if (blob.shape != t.shape)
      throw BenchError("LPIPS weights " + path + ": tensor '" + t.name + "' has shape " +
                       shape_text(blob.shape) + ", LPIPS-alex needs " + shape_text(t.shape) +
                       " (is this the AlexNet variant, net='alex'?)");
    const at::ScalarType dtype = dtype_of(blob, t.name, path);
    at::Tensor source =
        at::from_blob(const_cast<uint8_t*>(blob.data.data()), blob.shape, at::TensorOptions().dtype(dtype));
    at::Tensor value = source.to(at::kFloat).clone().to(net_->device);  // clone: `file` goes away
    if (!at::isfinite(value).all().item<bool>())
      throw BenchError("LPIPS weights " + path + ": tensor '" + t.name + "' holds a NaN or infinity");
    loaded.push_back(value);
  }
  for (int k = 0; k < 5; ++k) {
    net_->weight[k] = loaded[2 * k];
    net_->bias[k] = loaded[2 * k + 1];
    net_->lin[k] = loaded[10 + k];
  }
  const auto opts = at::TensorOptions().dtype(at::kFloat);
  net_->shift = at::tensor({-.030f, -.088f, -.188f}, opts).view({1, 3, 1, 1}).to(net_->device);
  net_->scale = at::tensor({.458f, .448f, .450f}, opts).view({1, 3, 1, 1}).to(net_->device);
}

Lpips::~Lpips() = default;
Lpips::Lpips(Lpips&&) noexcept = default;
Lpips& Lpips::operator=(Lpips&&) noexcept = default;

const std::string& Lpips::path() const { return net_->path; }

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
  at::Tensor total = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(net_->device));
  for (int k = 0; k < 5; ++k) {
    const at::Tensor diff = (reference.features->taps[k] - other.taps[k]).pow(2);
    total = total + at::conv2d(diff, net_->lin[k]).mean();  // NetLinLayer (1x1, no bias), spatial_average
  }
  return total.item<double>();
}

double Lpips::distance(const Image& a, const Image& b) const {
  require_same_size(a, b, "LPIPS");
  return distance(reference(a), b);
}

}  // namespace odp::bench
