// 8-bit pixels to the network's [0,1] floats and back as tensor ops, so the GPU model converts on the device.
#pragma once

#include <torch/torch.h>

namespace odp::model {

// 256 floats, entry b = unit_from_byte(b), on `device`. The conversion looks values up rather than dividing:
// CUDA divides a tensor by a scalar as a multiply by the reciprocal, which can differ from the host's b /
// 255.0f in the last bit, and tokens must not depend on where the division ran.
torch::Tensor byte_unit_table(const torch::Device& device);

// bytes: uint8 of any shape -> float32 of the same shape on the same device (`table` from byte_unit_table
// there).
torch::Tensor unit_from_bytes(const torch::Tensor& bytes, const torch::Tensor& table);

// values: float32 of any shape -> uint8, byte_from_unit of every element (clamp to [0,1], times 255, halves
// away from zero), computed exactly: torch::round would round halves to even and disagree with the codec.
torch::Tensor bytes_from_unit(const torch::Tensor& values);

}  // namespace odp::model
