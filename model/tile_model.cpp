// TileModel on LibTorch: batches host tiles (floats or bytes) through the network on the CPU (fp32) or CUDA
// (bf16).
#include "model/tile_model.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>

#include "model/pixels.h"
#include "model/weights.h"

// CUDA graphs and the pipelined GPU batches need LibTorch's CUDA API (ODP_TORCH_CUDA: a CUDA LibTorch and
// cuda/ built; model/CMakeLists.txt).
#if defined(ODP_TORCH_CUDA) && TORCH_VERSION_MAJOR >= 2
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "cuda/odp_cuda.h"
#define ODP_CUDA_API 1
#endif

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
    case GpuEncodePrecision::kBf16:
      return "bf16";
    case GpuEncodePrecision::kTf32:
      return "tf32";
    case GpuEncodePrecision::kFp32:
      return "fp32";
  }
  return "?";
}

GpuEncodePrecision parse_gpu_encode_precision(const std::string& name) {
  for (auto p : {GpuEncodePrecision::kBf16, GpuEncodePrecision::kTf32, GpuEncodePrecision::kFp32})
    if (name == gpu_encode_precision_name(p)) return p;
  throw ModelError("unknown GPU encode precision '" + name + "' (use bf16, tf32 or fp32)");
}

namespace {

// Whether fp32 matrix products and convolutions on the GPU may use TF32 tensor cores, for one scope.
// LibTorch's default lets cuDNN convolutions use TF32 but not cuBLAS matrix products; fp32 encoding needs
// both off.
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

int64_t weight_bytes(TokenizerNet& net) {
  int64_t bytes = 0;
  for (const auto& p : net->parameters()) bytes += p.numel() * static_cast<int64_t>(p.element_size());
  return bytes;
}

class TorchTileModel final : public TileModel {
 public:
  TorchTileModel(TokenizerNet net, ModelInfo info, Device device)
      : info_(std::move(info)),
        device_(device),
        torch_device_(device == Device::kCuda ? torch::kCUDA : torch::kCPU) {
    if (device == Device::kCuda && !cuda_available()) throw ModelError("no CUDA GPU available for the model");
    net->eval();
    if (device == Device::kCuda) {
      // bf16 weights on the GPU: inference needs no fp32 master copy, and halves memory traffic. The fp32
      // weights stay on the host for the tf32/fp32 encoder: a copy of the bf16 network would have them
      // rounded.
      net_ = network_copy(net, torch_device_, torch::kBFloat16);
      host_fp32_net_ = std::move(net);
    } else {
      net_ = std::move(net);
      net_->to(torch_device_, torch::kFloat32);
    }
    byte_table_ = byte_unit_table(torch_device_);
    info_.parameters = count_parameters(*net_);
    cpu_bf16_decode_ = device == Device::kCpu && cpu_has_native_bf16();
  }

  void set_cpu_bf16_decode(bool enable) override { cpu_bf16_decode_ = enable && device_ == Device::kCpu; }
  bool cpu_bf16_decode() const override { return cpu_bf16_decode_; }

  void set_gpu_graphs(bool enable) override { gpu_graphs_ = enable; }
  bool gpu_graphs() const override { return gpu_graphs_; }

  void set_gpu_batch_padding(bool enable) override { gpu_batch_padding_ = enable; }
  bool gpu_batch_padding() const override { return gpu_batch_padding_; }

  void set_gpu_encode_precision(GpuEncodePrecision precision) override { gpu_encode_precision_ = precision; }
  GpuEncodePrecision gpu_encode_precision() const override { return gpu_encode_precision_; }

  const ModelInfo& info() const override { return info_; }
  Device device() const override { return device_; }
  int preferred_batch() const override { return device_ == Device::kCuda ? 128 : 4; }

  int64_t device_weight_bytes() const override {
    std::lock_guard<std::mutex> lock(lazy_nets_mutex_);
    TokenizerNet net = net_, wide = fp32_net_, narrow = cpu_bf16_net_;
    return weight_bytes(net) + (wide ? weight_bytes(wide) : 0) + (narrow ? weight_bytes(narrow) : 0);
  }

  std::vector<uint16_t> encode(const float* tiles, int n) override { return encode_tiles(tiles, n); }
  std::vector<uint16_t> encode_bytes(const uint8_t* tiles, int n) override { return encode_tiles(tiles, n); }
  void decode(const uint16_t* tokens, const int* keep, int n, float* out) override {
    decode_tiles(tokens, keep, n, out);
  }
  void decode_bytes(const uint16_t* tokens, const int* keep, int n, uint8_t* out) override {
    decode_tiles(tokens, keep, n, out);
  }

 private:
  template <typename Pixel>
  static constexpr torch::ScalarType pixel_type() {
    static_assert(std::is_same_v<Pixel, float> || std::is_same_v<Pixel, uint8_t>, "tiles are float or uint8");
    return std::is_same_v<Pixel, float> ? torch::kFloat32 : torch::kUInt8;
  }

  // The fp32 network of the tf32/fp32 encoder, made on first use: the host's fp32 network moves to the GPU
  // (no copy, no new random initialisation). The lock keeps two first callers from both moving it; once made,
  // the model is as safe for concurrent calls as it was when the constructor made it.
  TokenizerNet fp32_net() {
    std::lock_guard<std::mutex> lock(lazy_nets_mutex_);
    if (!fp32_net_) {
      torch::NoGradGuard no_grad;
      // A failure part way (out of GPU memory) leaves host_fp32_net_ to be moved again by the next call.
      host_fp32_net_->to(torch_device_, torch::kFloat32);
      fp32_net_ = std::move(host_fp32_net_);
      host_fp32_net_ = TokenizerNet(nullptr);
    }
    return fp32_net_;
  }

  // The network of the CPU's bf16 decoder (cpu_bf16_inference_copy), made on the first such decode: a model
  // that only encodes, or decodes in fp32, never holds it.
  TokenizerNet cpu_bf16_net() {
    std::lock_guard<std::mutex> lock(lazy_nets_mutex_);
    if (!cpu_bf16_net_) cpu_bf16_net_ = cpu_bf16_inference_copy(net_);
    return cpu_bf16_net_;
  }

  template <typename Pixel>
  std::vector<uint16_t> encode_tiles(const Pixel* tiles, int n) {
    const auto& c = info_.config;
    const int64_t tile_values = 3LL * c.tile_size * c.tile_size;
    std::vector<uint16_t> out(static_cast<size_t>(n) * c.num_tokens);
    torch::NoGradGuard no_grad;
    const bool wide = device_ == Device::kCuda && gpu_encode_precision_ != GpuEncodePrecision::kBf16;
    TokenizerNet net = wide ? fp32_net() : net_;
    std::unique_ptr<Tf32Scope> tf32;
    if (wide) tf32 = std::make_unique<Tf32Scope>(gpu_encode_precision_ == GpuEncodePrecision::kTf32);
    PendingResults pending;
    for (int start = 0; start < n; start += preferred_batch()) {
      const int b = std::min(preferred_batch(), n - start), padded = padded_batch(b);
      // Pixels cross to the device in the caller's type (bytes: a quarter of fp32's) and become floats there.
      torch::Tensor host = torch::from_blob(const_cast<Pixel*>(tiles + start * tile_values),
                                            {b, 3, c.tile_size, c.tile_size}, pixel_type<Pixel>());
      if (padded > b)
        host = torch::cat({host, torch::zeros({padded - b, 3, c.tile_size, c.tile_size}, host.options())});
      const GraphKey key{false, padded, std::is_same_v<Pixel, uint8_t>,
                         static_cast<int>(gpu_encode_precision_)};
      uint16_t* batch_out = out.data() + static_cast<size_t>(start) * c.num_tokens;
      run_pass(
          key, {host},
          [&](const std::vector<torch::Tensor>& device_inputs) {
            torch::Tensor input = device_inputs[0];
            if constexpr (std::is_same_v<Pixel, uint8_t>) input = unit_from_bytes(input, byte_table_);
            return net->encode_indices(input).to(torch::kInt32);
          },
          [batch_out, b](const torch::Tensor& result) {
            const torch::Tensor indices = result.slice(0, 0, b).to(torch::kCPU).contiguous();
            const int32_t* p = indices.data_ptr<int32_t>();
            for (int64_t i = 0; i < indices.numel(); ++i) batch_out[i] = static_cast<uint16_t>(p[i]);
          },
          pending);
    }
    pending.finish_all();
    return out;
  }

  template <typename Pixel>
  void decode_tiles(const uint16_t* tokens, const int* keep, int n, Pixel* out) {
    const auto& c = info_.config;
    const int64_t tile_values = 3LL * c.tile_size * c.tile_size;
    torch::NoGradGuard no_grad;
    TokenizerNet net = cpu_bf16_decode_ ? cpu_bf16_net() : net_;
    PendingResults pending;
    for (int start = 0; start < n; start += preferred_batch()) {
      const int b = std::min(preferred_batch(), n - start), padded = padded_batch(b);
      // Padding rows (if any) keep no tokens: index 0, kept length 0.
      auto idx = torch::zeros({padded, c.num_tokens}, torch::kInt64);
      auto keep_t = torch::zeros({padded}, torch::kInt64);
      auto* ip = idx.data_ptr<int64_t>();
      for (int64_t i = 0; i < int64_t{b} * c.num_tokens; ++i) ip[i] = tokens[start * c.num_tokens + i];
      auto* kp = keep_t.data_ptr<int64_t>();
      for (int i = 0; i < b; ++i) {
        const int k = keep[start + i];
        if (k < 0 || k > c.num_tokens) throw ModelError("decode: tokens kept must be in 0..num_tokens");
        kp[i] = k;
      }
      if ((idx >= c.codebook_size()).any().item<bool>())
        throw ModelError("decode: token index outside the codebook");
      // Clamped and converted to the caller's type on the device (bytes: a quarter of fp32's to copy back),
      // then copied into the caller's buffer (from the GPU through pinned memory: see run_pass).
      const GraphKey key{true, padded, std::is_same_v<Pixel, uint8_t>, 0};
      run_pass(
          key, {idx, keep_t},
          [&](const std::vector<torch::Tensor>& device_inputs) {
            const torch::Tensor decoded = net->decode_indices(device_inputs[0], device_inputs[1]);
            if constexpr (std::is_same_v<Pixel, uint8_t>) {
#ifdef ODP_CUDA_API
              if (decoded.is_cuda()) return device_bytes_from_unit(decoded);
#endif
              return bytes_from_unit(decoded);
            }
            return decoded.clamp(0.0, 1.0).to(torch::kFloat32);
          },
          [batch_out = out + start * tile_values, b](const torch::Tensor& images) {
            const torch::Tensor kept = images.slice(0, 0, b);
            torch::from_blob(batch_out, kept.sizes(), pixel_type<Pixel>()).copy_(kept);
          },
          pending);
    }
    pending.finish_all();
  }

  // The batch a pass of b tiles runs at (see set_gpu_batch_padding).
  int padded_batch(int b) const {
    if (device_ != Device::kCuda || !gpu_batch_padding_ || b >= kMaxGraphBatch) return b;
    return b <= kMaxGraphBatch / 2 ? kMaxGraphBatch / 2 : kMaxGraphBatch;
  }

  // One network pass: host inputs in; take() receives the result (encode: int32 indices, decode: the caller's
  // pixels), on the device or on the host, and copies it out. (decode?, batch, byte pixels?, encode
  // precision) names a pass whose kernels are the same on every call.
  using GraphKey = std::tuple<bool, int, bool, int>;
  using Pass = std::function<torch::Tensor(const std::vector<torch::Tensor>& device_inputs)>;
  using Take = std::function<void(const torch::Tensor& result)>;

  // Results of eager GPU passes on their way back to the host, each handed to its take() one pass late: the
  // host stages batch i+1's inputs and queues its pass while the GPU still works on batch i, and stores batch
  // i's result while the GPU works on batch i+1. Without this the GPU idled through every PCIe copy (pageable
  // copies block the host) and the byte API ran at 61% of the network's rate (H200, batch 256).
  class PendingResults {
   public:
#ifdef ODP_CUDA_API
    // host_result: pinned memory that a copy queued on `stream` is filling.
    void push(torch::Tensor host_result, Take take, const c10::cuda::CUDAStream& stream) {
      Pending pending{std::move(host_result), at::cuda::CUDAEvent(), std::move(take)};
      pending.copied.record(stream);
      queue_.push_back(std::move(pending));
      while (queue_.size() > 1) finish_oldest();
    }
    void finish_all() {
      while (!queue_.empty()) finish_oldest();
    }

   private:
    struct Pending {
      torch::Tensor host;          // pinned; written by a copy queued on a GPU stream
      at::cuda::CUDAEvent copied;  // recorded after that copy
      Take take;
    };
    void finish_oldest() {
      Pending pending = std::move(queue_.front());
      queue_.pop_front();
      pending.copied.synchronize();
      pending.take(pending.host);
    }
    std::deque<Pending> queue_;
#else
    void finish_all() {}
#endif
  };

  void run_pass(const GraphKey& key, const std::vector<torch::Tensor>& host_inputs, const Pass& pass,
                const Take& take, PendingResults& pending) {
#ifdef ODP_CUDA_API
    if (device_ == Device::kCuda && gpu_graphs_ && std::get<1>(key) <= kMaxGraphBatch) {
      std::lock_guard<std::mutex> lock(graphs_mutex_);
      if (GraphedPass* graphed = graphed_pass(key, host_inputs, pass)) {
        for (size_t i = 0; i < host_inputs.size(); ++i) graphed->inputs[i].copy_(host_inputs[i]);
        graphed->graph.replay();
        take(graphed->output);  // under the lock: the next replay overwrites the output buffer
        return;
      }
    }
    if (device_ == Device::kCuda) {
      // Inputs are staged in pinned memory, whose copies to the GPU do not block the host (LibTorch's pinned
      // allocator reuses a staging block only once the copy from it has run). Uploads and downloads run on
      // streams of their own, so that PCIe carries batch i+1's inputs and batch i-1's results while the GPU
      // computes batch i; events order each copy after what it needs, and record_stream keeps the allocator
      // from reusing a tensor's memory while another stream may still use it.
      const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream();
      const GpuCopyStreams& copies = gpu_copy_streams();
      std::vector<torch::Tensor> device_inputs;
      {
        const c10::cuda::CUDAStreamGuard on_upload(copies.upload);
        for (const auto& input : host_inputs) {
          torch::Tensor staged = torch::empty(input.sizes(), input.options().pinned_memory(true));
          staged.copy_(input);
          device_inputs.push_back(staged.to(torch_device_, /*non_blocking=*/true));
        }
      }
      at::cuda::CUDAEvent uploaded;
      uploaded.record(copies.upload);
      uploaded.block(compute);
      for (auto& input : device_inputs) input.record_stream(compute);
      const torch::Tensor result = pass(device_inputs);
      at::cuda::CUDAEvent computed;
      computed.record(compute);
      computed.block(copies.download);
      torch::Tensor host_result =
          torch::empty(result.sizes(), result.options().device(torch::kCPU).pinned_memory(true));
      {
        const c10::cuda::CUDAStreamGuard on_download(copies.download);
        host_result.copy_(result, /*non_blocking=*/true);
      }
      result.record_stream(copies.download);
      pending.push(std::move(host_result), take, copies.download);
      return;
    }
#else
    (void)key;
    (void)pending;
#endif
    std::vector<torch::Tensor> device_inputs;
    for (const auto& input : host_inputs) device_inputs.push_back(input.to(torch_device_));
    take(pass(device_inputs));
  }

#ifdef ODP_CUDA_API
  // bytes_from_unit in one kernel (cuda::bytes_from_unit) instead of LibTorch's eight passes over the tiles:
  // 6% of a GPU decode through the byte API (H200, batch 1024).
  static torch::Tensor device_bytes_from_unit(const torch::Tensor& values) {
    if (values.scalar_type() != torch::kBFloat16 && values.scalar_type() != torch::kFloat32)
      return bytes_from_unit(values);
    const torch::Tensor input = values.contiguous();
    torch::Tensor out = torch::empty(input.sizes(), input.options().dtype(torch::kUInt8));
    cuda::bytes_from_unit(
        input.data_ptr(),
        input.scalar_type() == torch::kBFloat16 ? cuda::RealType::kBFloat16 : cuda::RealType::kFloat32,
        input.numel(), out.data_ptr<uint8_t>(), c10::cuda::getCurrentCUDAStream().stream());
    return out;
  }

  struct GpuCopyStreams {
    c10::cuda::CUDAStream upload, download;
  };
  // The copy streams of the pipelined passes, made on first use.
  const GpuCopyStreams& gpu_copy_streams() {
    std::call_once(copy_streams_made_, [this] {
      copy_streams_.emplace(GpuCopyStreams{c10::cuda::getStreamFromPool(), c10::cuda::getStreamFromPool()});
    });
    return *copy_streams_;
  }
  std::once_flag copy_streams_made_;
  std::optional<GpuCopyStreams> copy_streams_;

  // Small batches on the GPU are bound by launching the pass's 100+ kernels, not by the GPU: each such pass
  // is captured once as a CUDA graph and replayed, with the inputs copied into the graph's own buffers.
  static constexpr size_t kMaxGraphs = 8;  // each holds its activations' memory; more shapes run eagerly
  struct GraphedPass {
    at::cuda::CUDAGraph graph;
    std::vector<torch::Tensor> inputs;  // device buffers the graph reads
    torch::Tensor output;               // device buffer the graph writes
  };

  // The graph for key, captured on first use; nullptr when the cache is full.
  GraphedPass* graphed_pass(const GraphKey& key, const std::vector<torch::Tensor>& host_inputs,
                            const Pass& pass) {
    auto found = graphs_.find(key);
    if (found != graphs_.end()) return found->second.get();
    if (graphs_.size() >= kMaxGraphs) return nullptr;
    auto graphed = std::make_unique<GraphedPass>();
    for (const auto& input : host_inputs) graphed->inputs.push_back(input.to(torch_device_));
    // Capture runs on a side stream; two eager passes there first let lazy state (cuBLAS workspaces, cached
    // tables and folded kernels) settle, since a graph cannot record allocations made outside it.
    torch::cuda::synchronize();
    {
      const c10::cuda::CUDAStreamGuard side(c10::cuda::getStreamFromPool());
      for (int i = 0; i < 2; ++i) pass(graphed->inputs);
      torch::cuda::synchronize();
      graphed->graph.capture_begin();
      try {
        graphed->output = pass(graphed->inputs);
      } catch (...) {
        // End the capture before reporting, or the stream stays in capture mode and every later call fails.
        try {
          graphed->graph.capture_end();
        } catch (...) {
        }
        throw;
      }
      graphed->graph.capture_end();
    }
    torch::cuda::synchronize();
    return graphs_.emplace(key, std::move(graphed)).first->second.get();
  }

  std::map<GraphKey, std::unique_ptr<GraphedPass>> graphs_;
  std::mutex graphs_mutex_;
#endif

  TokenizerNet net_{nullptr};
  // CUDA only, for GpuEncodePrecision kTf32 and kFp32: the file's fp32 weights on the host until the first
  // such encode moves them to the GPU as fp32_net_. Both guarded by lazy_nets_mutex_.
  TokenizerNet host_fp32_net_{nullptr};
  TokenizerNet fp32_net_{nullptr};
  // CPU only: the bf16 decoder's network, made by the first bf16 decode. Guarded by lazy_nets_mutex_.
  TokenizerNet cpu_bf16_net_{nullptr};
  mutable std::mutex lazy_nets_mutex_;
  GpuEncodePrecision gpu_encode_precision_ = GpuEncodePrecision::kTf32;
  ModelInfo info_;
  Device device_;
  torch::Device torch_device_;
  torch::Tensor byte_table_;  // byte_unit_table on the model's device, made once: no host copy per call
  bool cpu_bf16_decode_ = false;
  bool gpu_graphs_ = true;
  bool gpu_batch_padding_ = false;
};

}  // namespace

std::unique_ptr<TileModel> TileModel::load(const std::string& path, Device device) {
  LoadedNetwork loaded = load_network(path);
  return std::make_unique<TorchTileModel>(loaded.net, loaded.info, device);
}

std::unique_ptr<TileModel> TileModel::load(const std::vector<uint8_t>& bytes, const std::string& name,
                                           Device device) {
  LoadedNetwork loaded = load_network(bytes, name);
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
