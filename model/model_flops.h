// The FLOP floor that throughput figures are quoted against: the network's operations per tile, counted from
// its ModelConfig alone, and the device's measured matrix rate.
#pragma once

#include "model/tile_model.h"

namespace odp::model {

// Counts 2 FLOPs per multiply-add of every matrix product and convolution in model/network.cpp (patch
// embedding, attention projections, QK^T and attention x V, MLP, code projections, upsampling convolutions).
// Norms, activations, softmax and FSQ are elementwise and left out (under 1% at the default config).
struct ModelFlops {
  double encode_per_tile = 0;
  double decode_per_tile = 0;
};

ModelFlops count_model_flops(const ModelConfig& config);

// One training step per sample: the forward pass through encoder and decoder, and a backward pass that costs
// twice the forward (gradients of the activations and of the weights), so 3x (encode + decode).
double training_flops_per_sample(const ModelConfig& config);

// Median FLOP/s of large square matrix products of random operands (zeros can run faster than real data):
// bf16 on CUDA, fp32 on the CPU, sampled for about `seconds`.
double measure_matmul_rate(Device device, double seconds);

}  // namespace odp::model
