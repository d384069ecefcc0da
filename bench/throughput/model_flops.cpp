// Per-tile FLOP count of the network in model/network.cpp; keep in step with its layers.
#include "bench/throughput/model_flops.h"

namespace odp::bench {
namespace {

// One pre-norm transformer block over a sequence of `tokens`: qkv + proj (4 W^2), MLP (2 r W^2), attention
// scores and weighted sum (2 S^2 W) multiply-adds.
double transformer_block_flops(double tokens, double width, double mlp_ratio) {
  const double linear = tokens * width * width * (4.0 + 2.0 * mlp_ratio);
  const double attention = 2.0 * tokens * tokens * width;
  return 2.0 * (linear + attention);
}

}  // namespace

ModelFlops count_model_flops(const model::ModelConfig& c) {
  const double grid = c.tile_size / c.patch_size;
  const double patches = grid * grid, tokens = c.num_tokens, width = c.width;
  const double dims = static_cast<double>(c.fsq_levels.size());
  // Both transformers see the patches (or image queries) and the latent tokens together.
  const double sequence = patches + tokens;

  ModelFlops flops;
  const double patch_embed = 2.0 * patches * (3.0 * c.patch_size * c.patch_size) * width;
  flops.encode_per_tile = patch_embed + c.encoder_layers * transformer_block_flops(sequence, width, c.mlp_ratio) +
                          2.0 * tokens * width * dims;

  // Upsampling head as computed (UpsampleHeadImpl::forward, sub-pixel form): per stage one 2x2 conv with 4x the
  // output channels over the (side+1)^2 padded low-resolution grid, i.e. 4/9 of the literal upsample + 3x3 conv;
  // finally a 3x3 conv to RGB at full size.
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

}  // namespace odp::bench
