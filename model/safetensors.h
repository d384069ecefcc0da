// Reading and writing the safetensors container (8-byte header size, JSON header, raw little-endian data).
// Free of LibTorch: model files can be inspected and checked without building the network.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace odp::model {

struct TensorBlob {
  std::string dtype;  // "F32", "F16", "BF16", "U16", "I64", ...
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;    // little-endian, row-major
  size_t element_size() const;  // bytes per element of dtype (throws ModelError on unknown dtype)
  int64_t numel() const;
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;  // "__metadata__": string -> string
  std::map<std::string, TensorBlob> tensors;    // sorted by name, so writing is deterministic
};

// Serialises deterministically (sorted names, offsets in name order, header padded with spaces to 8 bytes).
std::vector<uint8_t> serialize_safetensors(const SafetensorsFile& file);
// Parses and validates (offsets in range, sizes matching dtype x shape). `name` is used in errors. With
// `only_data_of`, every entry is still checked but only the named tensors' bytes are copied (the others keep
// empty data): reading a model's tables must not copy its weights.
SafetensorsFile parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& name,
                                  const std::set<std::string>* only_data_of = nullptr);

}  // namespace odp::model
