// What fuzz_codec_decode and its seed maker share: the tiny random model and the option byte before a file.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "codec/odp.h"
#include "model/tile_model.h"
#include "tests/tiny_model_config.h"

namespace odp::fuzz {

// The tiny tokenizer (32-px tiles, 16 tokens, 4096 codes) with fixed random weights, made once; its model id
// is 0, so seed files match it. One LibTorch thread: no thread pool is started per input.
inline model::TileModel& tiny_model() {
  static const std::unique_ptr<model::TileModel> model = [] {
    torch::set_num_threads(1);
    return model::TileModel::random(testing::tiny_model_config(), 17, model::Device::kCpu);
  }();
  return *model;
}

// The input's first byte picks the decode options; the rest is the .odp file. Bits 0-3: max_tokens (0: all);
// bits 4-5: seam_cast_radius 96, 0, 8 or 40; bit 6: seam_filter_radius 0 instead of 4. The limits keep one
// execution small (at most 64 tiles, 128 x 128 pixels) and are themselves part of what is fuzzed.
inline codec::DecodeOptions options_from_byte(uint8_t byte) {
  codec::DecodeOptions options;
  options.max_tokens = byte & 15;
  static const int cast_radii[4] = {96, 0, 8, 40};
  options.seam_cast_radius = cast_radii[(byte >> 4) & 3];
  options.seam_filter_radius = (byte & 64) ? 0 : 4;
  options.limits.max_pixels = 128 * 128;
  options.limits.max_tiles = 64;
  options.limits.max_metadata_bytes = 1 << 16;
  options.limits.max_input_bytes = 1 << 16;
  return options;
}

}  // namespace odp::fuzz
