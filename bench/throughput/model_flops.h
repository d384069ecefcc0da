// Floating-point operations per tile of the tokenizer network, counted from its ModelConfig alone.
#pragma once

#include "model/tile_model.h"

namespace odp::bench {

// Counts 2 FLOPs per multiply-add of every matrix product and convolution in model/network.cpp (patch
// embedding, attention projections, QK^T and attention x V, MLP, code projections, upsampling convolutions).
// Norms, activations, softmax and FSQ are elementwise and left out (under 1% at the default config).
struct ModelFlops {
  double encode_per_tile = 0;
  double decode_per_tile = 0;
};

ModelFlops count_model_flops(const model::ModelConfig& config);

}  // namespace odp::bench
