// Exact byte <-> [0,1] float conversion as tensor ops: the same results on the CPU and the GPU as the
// codec's.
#include "model/pixels.h"

#include <vector>

#include "model/tile_model.h"

namespace odp::model {

torch::Tensor byte_unit_table(const torch::Device& device) {
  std::vector<float> table(256);
  for (int b = 0; b < 256; ++b) table[b] = unit_from_byte(static_cast<uint8_t>(b));
  return torch::tensor(table, torch::kFloat32).to(device);
}

torch::Tensor unit_from_bytes(const torch::Tensor& bytes, const torch::Tensor& table) {
  // int32 indices: index_select takes them on both devices, at half the memory of int64.
  return table.index_select(0, bytes.reshape({-1}).to(torch::kInt32)).view(bytes.sizes());
}

torch::Tensor bytes_from_unit(const torch::Tensor& values) {
  // A product of two floats is rounded once, on either device, as the host's v * 255.0f is. The fraction
  // scaled - floor(scaled) is exact in float, so comparing it with 0.5 rounds halves up without the error
  // that floor(scaled + 0.5) makes just below a half.
  auto scaled = values.to(torch::kFloat32).clamp(0.0, 1.0).mul_(255.0);
  auto whole = scaled.floor();
  scaled.sub_(whole).ge_(0.5);
  return whole.add_(scaled).to(torch::kUInt8);
}

}  // namespace odp::model
