// Model files without LibTorch: hyper-parameters in the safetensors metadata, model id, entropy tables.
#include "model/model_file.h"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/file_io.h"

namespace odp::model {

const char* const kFrequencyTensorName = "entropy.position_frequencies";

namespace {

const char* kFormatKey = "odp.format";
const char* kFormatValue = "odp-tokenizer-1";

std::string join(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

std::vector<int> split_ints(const std::string& s, const std::string& field) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      out.push_back(std::stoi(item));
    } catch (const std::exception&) {
      throw ModelError("model config: " + field + " is not a list of integers: '" + s + "'");
    }
  }
  if (out.empty()) throw ModelError("model config: " + field + " is empty");
  return out;
}

}  // namespace

std::map<std::string, std::string> config_to_metadata(const ModelConfig& c) {
  return {{kFormatKey, kFormatValue},
          {"odp.tile_size", std::to_string(c.tile_size)},
          {"odp.patch_size", std::to_string(c.patch_size)},
          {"odp.num_tokens", std::to_string(c.num_tokens)},
          {"odp.width", std::to_string(c.width)},
          {"odp.encoder_layers", std::to_string(c.encoder_layers)},
          {"odp.decoder_layers", std::to_string(c.decoder_layers)},
          {"odp.heads", std::to_string(c.heads)},
          {"odp.mlp_ratio", std::to_string(c.mlp_ratio)},
          {"odp.fsq_levels", join(c.fsq_levels)},
          {"odp.head_channels", join(c.head_channels)}};
}

ModelConfig config_from_metadata(const std::map<std::string, std::string>& m, const std::string& name) {
  auto get = [&](const std::string& key) {
    auto it = m.find(key);
    if (it == m.end()) throw ModelError(name + ": model file lacks the hyper-parameter '" + key + "'");
    return it->second;
  };
  if (get(kFormatKey) != kFormatValue)
    throw ModelError(name + ": unknown model format '" + get(kFormatKey) + "' (expected " + kFormatValue +
                     ")");
  auto get_int = [&](const std::string& key) { return split_ints(get(key), key).at(0); };
  ModelConfig c;
  c.tile_size = get_int("odp.tile_size");
  c.patch_size = get_int("odp.patch_size");
  c.num_tokens = get_int("odp.num_tokens");
  c.width = get_int("odp.width");
  c.encoder_layers = get_int("odp.encoder_layers");
  c.decoder_layers = get_int("odp.decoder_layers");
  c.heads = get_int("odp.heads");
  c.mlp_ratio = get_int("odp.mlp_ratio");
  c.fsq_levels = split_ints(get("odp.fsq_levels"), "odp.fsq_levels");
  c.head_channels = split_ints(get("odp.head_channels"), "odp.head_channels");
  // Bounds on what a file may ask the network to allocate (validate() checks only consistency): the
  // widest transformer odp could run is far below these, and an absurd odp.width (1048576) would otherwise
  // allocate gigabytes inside LibTorch before the weights are compared.
  auto bounded = [&](const char* key, int value, int high) {
    if (value < 1 || value > high)
      throw ModelError(name + ": model file's hyper-parameter '" + key + "' is " + std::to_string(value) +
                       ", outside 1.." + std::to_string(high));
  };
  bounded("odp.width", c.width, 4096);
  bounded("odp.heads", c.heads, 256);
  c.validate();
  return c;
}

std::string model_id_text(uint32_t id) {
  char text[16];
  std::snprintf(text, sizeof text, "%08x", id);
  return text;
}

uint32_t model_id_of(const std::vector<uint8_t>& file_bytes) {
  return static_cast<uint32_t>(crc32(0L, file_bytes.data(), static_cast<uInt>(file_bytes.size())));
}

std::vector<uint8_t> read_model_bytes(const std::string& path) {
  try {
    return base::read_file(path);
  } catch (const base::Error& error) {
    throw ModelError(std::string("cannot read model file: ") + error.what());
  }
}

ModelInfo model_info_from(const SafetensorsFile& file, const std::vector<uint8_t>& bytes,
                          const std::string& path) {
  ModelInfo info;
  info.config = config_from_metadata(file.metadata, path);
  info.path = path;
  info.model_id = model_id_of(bytes);
  // Building the network allocates what the hyper-parameters say; a file whose tensors hold fewer elements
  // cannot fill it, so it is refused here, before anything is allocated (one tensor's count is at most 2^56:
  // the sum stops once it suffices).
  const int64_t needed = info.config.parameter_count();
  int64_t held = 0;
  for (const auto& [tensor_name, blob] : file.tensors)
    if (tensor_name != kFrequencyTensorName && (held += blob.numel()) >= needed) break;
  if (held < needed)
    throw ModelError(
        path + ": the hyper-parameters (odp.tile_size, odp.patch_size, odp.num_tokens, odp.width, " +
        "odp.encoder_layers, odp.decoder_layers, odp.mlp_ratio, odp.fsq_levels, odp.head_channels) " +
        "need " + std::to_string(needed) + " parameters, but the file's tensors hold only " +
        std::to_string(held));
  auto freq = file.tensors.find(kFrequencyTensorName);
  if (freq == file.tensors.end()) return info;
  const auto& config = info.config;
  const TensorBlob& blob = freq->second;
  if (blob.dtype != "U16" || blob.shape != std::vector<int64_t>{config.num_tokens, config.codebook_size()})
    throw ModelError(path + ": " + kFrequencyTensorName + " must be U16 [num_tokens, codebook_size]");
  info.token_frequencies.resize(static_cast<size_t>(blob.numel()));
  for (size_t i = 0; i < info.token_frequencies.size(); ++i)
    info.token_frequencies[i] = static_cast<uint16_t>(blob.data[2 * i] | (blob.data[2 * i + 1] << 8));
  // The coder needs every code codable (frequency >= 1) and each position's total exactly 65536.
  const int codes = config.codebook_size();
  for (int p = 0; p < config.num_tokens; ++p) {
    uint32_t sum = 0;
    for (int c = 0; c < codes; ++c) {
      const uint16_t f = info.token_frequencies[static_cast<size_t>(p) * codes + c];
      if (f == 0)
        throw ModelError(path + ": token frequency table has a zero entry at position " + std::to_string(p));
      sum += f;
    }
    if (sum != 65536)
      throw ModelError(path + ": token frequencies of position " + std::to_string(p) +
                       " do not sum to 65536");
  }
  return info;
}

ModelInfo read_model_info(const std::string& path) {
  const auto bytes = read_model_bytes(path);
  const std::set<std::string> tables = {kFrequencyTensorName};
  return model_info_from(parse_safetensors(bytes, path, &tables), bytes, path);
}

}  // namespace odp::model
