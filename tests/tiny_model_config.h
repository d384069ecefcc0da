// The tiny tokenizer configuration the tests share: 32-px tiles, 16 tokens, one layer each way (fast on CPU).
#pragma once

#include "model/tile_model.h"

namespace odp::testing {

inline model::ModelConfig tiny_model_config() {
  model::ModelConfig config;
  config.tile_size = 32;
  config.patch_size = 8;
  config.num_tokens = 16;
  config.width = 32;
  config.encoder_layers = 1;
  config.decoder_layers = 1;
  config.heads = 2;
  config.head_channels = {16, 8, 8};
  return config;
}

}  // namespace odp::testing
