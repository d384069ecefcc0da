// Model files: the network's weights plus every hyper-parameter, in one safetensors file (fp16 or fp32).
#pragma once

#include <map>
#include <string>

#include "model/model_file.h"
#include "model/network.h"

namespace odp::model {

struct LoadedNetwork {
  TokenizerNet net{nullptr};
  ModelInfo info;
  std::map<std::string, std::string> metadata;  // everything in __metadata__ (config, training record)
};

// Writes the network (weights converted to `dtype`, kHalf for shipping), its config, optional per-position
// token frequencies and extra metadata (e.g. the training record) atomically to `path`. Returns the model id.
uint32_t save_network(const std::string& path, TokenizerNet& net, torch::ScalarType dtype,
                      const std::map<std::string, std::string>& extra_metadata = {},
                      const std::vector<uint16_t>& token_frequencies = {});
// Reads a model file into a float32 network on the CPU. Throws ModelError naming the file and the problem.
LoadedNetwork load_network(const std::string& path);
// The same from the file's bytes already in memory; name stands for the file in messages and ModelInfo::path.
LoadedNetwork load_network(const std::vector<uint8_t>& bytes, const std::string& name);

// A tensor as a safetensors entry in `dtype` (F32, F16, BF16 or U8), and back (on the CPU, in the entry's
// dtype; `name` is used in errors). For files beside the model file, such as the trainer's state.
TensorBlob tensor_to_blob(const torch::Tensor& tensor, torch::ScalarType dtype);
torch::Tensor tensor_from_blob(const TensorBlob& blob, const std::string& name);
// Serialises `file` and writes it atomically (a temporary file, then a rename). Throws ModelError.
void write_safetensors_file(const std::string& path, const SafetensorsFile& file);

}  // namespace odp::model
