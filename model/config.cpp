// ModelConfig: derived sizes and validation (no LibTorch needed).
#include <cmath>

#include "model/tile_model.h"

namespace odp::model {

int ModelConfig::codebook_size() const {
  int n = 1;
  for (int L : fsq_levels) n *= L;
  return n;
}

int ModelConfig::codebook_bits() const {
  int bits = 0;
  while ((1 << bits) < codebook_size()) ++bits;
  return bits;
}

int64_t ModelConfig::parameter_count() const {
  // TokenizerNetImpl's parameters, in the order model/network.cpp registers them; a layer norm has a weight
  // and a bias of `width` each, a dense or convolution layer its weight and a bias per output.
  const int64_t W = width, P = patch_size, N = num_tokens, d = static_cast<int64_t>(fsq_levels.size());
  const int64_t patches = static_cast<int64_t>(tile_size / patch_size) * (tile_size / patch_size);
  const int64_t hidden = W * mlp_ratio;
  const int64_t block = 2 * W + 2 * W                // norm1, norm2
                        + (W * 3 * W + 3 * W)        // qkv
                        + (W * W + W)                // proj
                        + (W * hidden + hidden)      // fc1
                        + (hidden * W + W);          // fc2
  int64_t count = (3 * W * P * P + W)                // patch_embed
                  + patches * W + 2 * N * W          // encoder_pos, latent_tokens, latent_pos
                  + block * encoder_layers + 2 * W   // encoder blocks, encoder_norm
                  + (W * d + d) + (d * W + W)        // to_code, from_code
                  + W + N * W + patches * W          // mask_token, decoder_token_pos, image_queries
                  + block * decoder_layers + 2 * W;  // decoder blocks, decoder_norm
  int64_t in = W;
  for (int c : head_channels) {  // head: a 3x3 convolution per stage, then to_rgb
    count += in * c * 9 + c;
    in = c;
  }
  return count + in * 3 * 9 + 3;
}

void ModelConfig::validate() const {
  auto bad = [](const std::string& field, const std::string& why) {
    return ModelError("model config: " + field + " " + why);
  };
  auto pow2 = [](int v) { return v > 0 && (v & (v - 1)) == 0; };
  if (!pow2(tile_size) || tile_size < 16 || tile_size > 4096)
    throw bad("tile_size", "must be a power of two in 16..4096");
  if (!pow2(patch_size) || patch_size < 2 || patch_size > tile_size)
    throw bad("patch_size", "must be a power of two <= tile_size");
  if (num_tokens < 1 || num_tokens > 256)
    throw bad("num_tokens", "must be in 1..256 (the .odp format stores counts in a byte)");
  if (width < 8 || heads < 1 || width % heads != 0)
    throw bad("width/heads", "width must be a multiple of heads");
  if (encoder_layers < 1 || decoder_layers < 1 || encoder_layers > 64 || decoder_layers > 64)
    throw bad("layers", "must be in 1..64");
  if (mlp_ratio < 1 || mlp_ratio > 16) throw bad("mlp_ratio", "must be in 1..16");
  if (fsq_levels.empty() || fsq_levels.size() > 8) throw bad("fsq_levels", "needs 1..8 levels");
  for (int L : fsq_levels)
    if (L < 3 || L > 64)
      throw bad("fsq_levels", "each level must be in 3..64 (L = 2 leaves FSQ no interior level)");
  if (codebook_size() > 65536) throw bad("fsq_levels", "codebook larger than 65536 codes");
  int stages = 0;
  while ((1 << stages) < patch_size) ++stages;
  if (static_cast<int>(head_channels.size()) != stages)
    throw bad("head_channels", "needs log2(patch_size) = " + std::to_string(stages) + " entries");
  for (int c : head_channels)
    if (c < 1 || c > 4096) throw bad("head_channels", "each entry must be in 1..4096");
}

}  // namespace odp::model
