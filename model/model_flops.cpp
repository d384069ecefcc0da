// Per-tile FLOP count of the network in model/network.cpp (keep in step with its layers) and the matrix rate.
#include "model/model_flops.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace odp::model {
namespace {

// One pre-norm transformer block over a sequence of `tokens`: qkv + proj (4 W^2), MLP (2 r W^2), attention
// scores and weighted sum (2 S^2 W) multiply-adds.
double transformer_block_flops(double tokens, double width, double mlp_ratio) {
  const double linear = tokens * width * width * (4.0 + 2.0 * mlp_ratio);
  const double attention = 2.0 * tokens * tokens * width;
  return 2.0 * (linear + attention);
}

}  // namespace

ModelFlops count_model_flops(const ModelConfig& c) {
  const double grid = c.tile_size / c.patch_size;
  const double patches = grid * grid, tokens = c.num_tokens, width = c.width;
  const double dims = static_cast<double>(c.fsq_levels.size());
  // Both transformers see the patches (or image queries) and the latent tokens together.
  const double sequence = patches + tokens;

  ModelFlops flops;
  const double patch_embed = 2.0 * patches * (3.0 * c.patch_size * c.patch_size) * width;
  flops.encode_per_tile = patch_embed +
                          c.encoder_layers * transformer_block_flops(sequence, width, c.mlp_ratio) +
                          2.0 * tokens * width * dims;

  // Upsampling head as computed (UpsampleHeadImpl::forward, sub-pixel form): per stage one 2x2 conv with 4x
  // the output channels over the (side+1)^2 padded low-resolution grid, i.e. 4/9 of the literal upsample +
  // 3x3 conv; finally a 3x3 conv to RGB at full size.
  double head = 0, side = grid, channels = width;
  for (int out_channels : c.head_channels) {
    head += 2.0 * (side + 1) * (side + 1) * channels * (4.0 * out_channels) * 4.0;
    side *= 2;
    channels = out_channels;
  }
  head += 2.0 * side * side * channels * 3.0 * 9.0;
  flops.decode_per_tile = 2.0 * tokens * dims * width +
                          c.decoder_layers * transformer_block_flops(sequence, width, c.mlp_ratio) + head;
  return flops;
}

double training_flops_per_sample(const ModelConfig& config) {
  const ModelFlops flops = count_model_flops(config);
  return 3.0 * (flops.encode_per_tile + flops.decode_per_tile);
}

double measure_matmul_rate(Device device, double seconds) {
  torch::NoGradGuard no_grad;
  const bool cuda = device == Device::kCuda;
  // Large enough to fill an H100 (8192^3 = 1.1 TFLOP per product); on the CPU small enough to finish quickly.
  const int64_t size = cuda ? 8192 : 1024;
  const int products_per_sample = cuda ? 10 : 1;  // amortizes the synchronize between samples
  const auto options = torch::TensorOptions()
                           .device(cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU))
                           .dtype(cuda ? torch::kBFloat16 : torch::kFloat32);
  const auto a = torch::randn({size, size}, options), b = torch::randn({size, size}, options);
  auto c = torch::empty({size, size}, options);
  auto sample = [&] {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < products_per_sample; ++i) torch::mm_out(c, a, b);
    if (cuda) torch::cuda::synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  sample();  // warm-up: handle creation and the library's first choice of kernel stay out of the figure
  sample();
  std::vector<double> samples;
  const auto budget_start = std::chrono::steady_clock::now();
  while (samples.size() < 3 ||
         std::chrono::duration<double>(std::chrono::steady_clock::now() - budget_start).count() < seconds)
    samples.push_back(sample());
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return 2.0 * size * size * size * products_per_sample / samples[samples.size() / 2];
}

}  // namespace odp::model
