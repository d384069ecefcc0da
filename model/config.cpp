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

int64_t ModelConfig::parameter_count_estimate() const {
  const int64_t W = width, grid = tile_size / patch_size;
  const int64_t block = 4 * W * W + 2 * W * W * mlp_ratio + 9 * W + 2 * W * mlp_ratio;
  return block * (encoder_layers + decoder_layers) + 3 * patch_size * patch_size * W + 2 * grid * grid * W +
         3 * num_tokens * W;
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
