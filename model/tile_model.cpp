// TileModel on LibTorch: batches host tiles through the network on the CPU (fp32) or CUDA (bf16 weights).
#include "model/tile_model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "model/weights.h"

namespace odp::model {

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::kCpu;
  if (name == "cuda" || name == "gpu") {
    if (!cuda_available()) throw ModelError("device 'cuda' requested, but LibTorch sees no CUDA GPU");
    return Device::kCuda;
  }
  if (name == "auto") return cuda_available() ? Device::kCuda : Device::kCpu;
  throw ModelError("unknown device '" + name + "' (use cpu, cuda or auto)");
}

bool cuda_available() { return torch::cuda::is_available(); }

const char* gpu_encode_precision_name(GpuEncodePrecision precision) {
  switch (precision) {
    case GpuEncodePrecision::kBf16: return "bf16";
    case GpuEncodePrecision::kTf32: return "tf32";
    case GpuEncodePrecision::kFp32: return "fp32";
  }
  return "?";
}

GpuEncodePrecision parse_gpu_encode_precision(const std::string& name) {
  for (auto p : {GpuEncodePrecision::kBf16, GpuEncodePrecision::kTf32, GpuEncodePrecision::kFp32})
    if (name == gpu_encode_precision_name(p)) return p;
  throw ModelError("unknown GPU encode precision '" + name + "' (use bf16, tf32 or fp32)");
}

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  // Blocks up to 1 GiB come from the heap (not mmap), and the heap's top is not trimmed below 1 GiB free.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

namespace {

// Whether fp32 matrix products and convolutions on the GPU may use TF32 tensor cores, for one scope. LibTorch's
// default lets cuDNN convolutions use TF32 but not cuBLAS matrix products; fp32 encoding needs both off.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool allow) {
    auto& context = at::globalContext();
    cublas_ = context.allowTF32CuBLAS();
    cudnn_ = context.allowTF32CuDNN();
    context.setAllowTF32CuBLAS(allow);
    context.setAllowTF32CuDNN(allow);
  }
  ~Tf32Scope() {
    auto& context = at::globalContext();
    context.setAllowTF32CuBLAS(cublas_);
    context.setAllowTF32CuDNN(cudnn_);
  }
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;

 private:
  bool cublas_ = false, cudnn_ = false;
};

// A second copy of the network with the same weights, in fp32 on `device` (the GPU keeps a bf16 network for
// speed and this one for tf32/fp32 encoding).
TokenizerNet fp32_copy(TokenizerNet& net, const ModelConfig& config, const torch::Device& device) {
  TokenizerNet copy(config);
  torch::NoGradGuard no_grad;
  auto source = net->named_parameters();
  for (auto& item : copy->named_parameters()) item.value().copy_(source[item.key()]);
  copy->eval();
  copy->to(device, torch::kFloat32);
  return copy;
}

class TorchTileModel final : public TileModel {
 public:
  TorchTileModel(TokenizerNet net, ModelInfo info, Device device)
      : net_(std::move(net)), info_(std::move(info)), device_(device),
        torch_device_(device == Device::kCuda ? torch::kCUDA : torch::kCPU) {
    if (device == Device::kCuda && !cuda_available()) throw ModelError("no CUDA GPU available for the model");
    net_->eval();
    if (device == Device::kCuda) fp32_net_ = fp32_copy(net_, info_.config, torch_device_);
    // bf16 weights on the GPU: inference needs no fp32 master copy, and halves memory traffic.
    net_->to(torch_device_, device == Device::kCuda ? torch::kBFloat16 : torch::kFloat32);
    info_.parameters = count_parameters(*net_);
    const char* force_fp32 = std::getenv("ODP_CPU_FP32");
    cpu_bf16_decode_ = device == Device::kCpu && cpu_has_native_bf16() &&
                       !(force_fp32 != nullptr && std::string(force_fp32) == "1");
  }

  void set_cpu_bf16_decode(bool enable) override { cpu_bf16_decode_ = enable && device_ == Device::kCpu; }
  bool cpu_bf16_decode() const override { return cpu_bf16_decode_; }

  void set_gpu_encode_precision(GpuEncodePrecision precision) override { gpu_encode_precision_ = precision; }
  GpuEncodePrecision gpu_encode_precision() const override { return gpu_encode_precision_; }

  const ModelInfo& info() const override { return info_; }
  Device device() const override { return device_; }
  int preferred_batch() const override { return device_ == Device::kCuda ? 128 : 4; }

  std::vector<uint16_t> encode(const float* tiles, int n) override {
    const auto& c = info_.config;
    const int64_t tile_floats = 3LL * c.tile_size * c.tile_size;
    std::vector<uint16_t> out(static_cast<size_t>(n) * c.num_tokens);
    torch::NoGradGuard no_grad;
    const bool wide = device_ == Device::kCuda && gpu_encode_precision_ != GpuEncodePrecision::kBf16;
    auto& net = wide ? fp32_net_ : net_;
    std::unique_ptr<Tf32Scope> tf32;
    if (wide) tf32 = std::make_unique<Tf32Scope>(gpu_encode_precision_ == GpuEncodePrecision::kTf32);
    for (int start = 0; start < n; start += preferred_batch()) {
      const int b = std::min(preferred_batch(), n - start);
      auto input = torch::from_blob(const_cast<float*>(tiles + start * tile_floats), {b, 3, c.tile_size, c.tile_size},
                                    torch::kFloat32)
                       .to(torch_device_);
      auto indices = net->encode_indices(input).to(torch::kInt32).to(torch::kCPU).contiguous();
      const int32_t* p = indices.data_ptr<int32_t>();
      for (int64_t i = 0; i < indices.numel(); ++i) out[start * c.num_tokens + i] = static_cast<uint16_t>(p[i]);
    }
    return out;
  }

  void decode(const uint16_t* tokens, const int* keep, int n, float* out) override {
    const auto& c = info_.config;
    const int64_t tile_floats = 3LL * c.tile_size * c.tile_size;
    torch::NoGradGuard no_grad;
    AutocastBf16 autocast(cpu_bf16_decode_, AutocastDevice::kCpu);
    for (int start = 0; start < n; start += preferred_batch()) {
      const int b = std::min(preferred_batch(), n - start);
      auto idx = torch::empty({b, c.num_tokens}, torch::kInt64);
      auto keep_t = torch::empty({b}, torch::kInt64);
      auto* ip = idx.data_ptr<int64_t>();
      for (int64_t i = 0; i < idx.numel(); ++i) ip[i] = tokens[start * c.num_tokens + i];
      for (int i = 0; i < b; ++i) {
        const int k = keep[start + i];
        if (k < 0 || k > c.num_tokens) throw ModelError("decode: tokens kept must be in 0..num_tokens");
        keep_t[i] = k;
      }
      if ((idx >= c.codebook_size()).any().item<bool>()) throw ModelError("decode: token index outside the codebook");
      // Clamped and widened to fp32 on the device, then copied straight into the caller's buffer.
      auto images = net_->decode_indices(idx.to(torch_device_), keep_t.to(torch_device_)).clamp(0.0, 1.0).to(torch::kFloat32);
      torch::from_blob(out + start * tile_floats, {b, 3, c.tile_size, c.tile_size}, torch::kFloat32).copy_(images);
    }
  }

 private:
  TokenizerNet net_;
  TokenizerNet fp32_net_{nullptr};  // CUDA only: for GpuEncodePrecision kTf32 and kFp32
  GpuEncodePrecision gpu_encode_precision_ = GpuEncodePrecision::kTf32;
  ModelInfo info_;
  Device device_;
  torch::Device torch_device_;
  bool cpu_bf16_decode_ = false;
};

}  // namespace

std::unique_ptr<TileModel> TileModel::load(const std::string& path, Device device) {
  LoadedNetwork loaded = load_network(path);
  return std::make_unique<TorchTileModel>(loaded.net, loaded.info, device);
}

std::unique_ptr<TileModel> TileModel::random(const ModelConfig& config, uint64_t seed, Device device) {
  config.validate();
  torch::manual_seed(seed);
  TokenizerNet net(config);
  ModelInfo info;
  info.config = config;
  return std::make_unique<TorchTileModel>(net, info, device);
}

}  // namespace odp::model
