// Model files: network <-> safetensors, config <-> metadata, model id = CRC-32 of the file bytes.
#include "model/weights.h"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

namespace odp::model {
namespace {

const char* kFormatKey = "odp.format";
const char* kFormatValue = "odp-tokenizer-1";
const char* kFrequencyTensor = "entropy.position_frequencies";

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
  return out;
}

const char* dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "F32";
    case torch::kFloat16: return "F16";
    case torch::kBFloat16: return "BF16";
    default: throw ModelError("cannot store weights as this dtype");
  }
}

torch::ScalarType dtype_from_name(const std::string& name, const std::string& tensor) {
  if (name == "F32") return torch::kFloat32;
  if (name == "F16") return torch::kFloat16;
  if (name == "BF16") return torch::kBFloat16;
  throw ModelError("tensor '" + tensor + "' has dtype " + name + "; weights must be F32, F16 or BF16");
}

TensorBlob to_blob(const torch::Tensor& t, torch::ScalarType dtype) {
  auto c = t.detach().to(torch::kCPU).to(dtype).contiguous();
  TensorBlob blob;
  blob.dtype = dtype_name(dtype);
  blob.shape.assign(c.sizes().begin(), c.sizes().end());
  const auto* p = static_cast<const uint8_t*>(c.data_ptr());
  blob.data.assign(p, p + c.numel() * c.element_size());
  return blob;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path + ": cannot open model file");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw ModelError(path + ": cannot write model file");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw ModelError(path + ": cannot move the finished model file into place");
  }
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
    throw ModelError(name + ": unknown model format '" + get(kFormatKey) + "' (expected " + kFormatValue + ")");
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
  c.validate();
  return c;
}

uint32_t save_network(const std::string& path, TokenizerNet& net, torch::ScalarType dtype,
                      const std::map<std::string, std::string>& extra_metadata,
                      const std::vector<uint16_t>& token_frequencies) {
  SafetensorsFile file;
  file.metadata = config_to_metadata(net->config);
  for (const auto& [k, v] : extra_metadata) file.metadata[k] = v;
  for (const auto& item : net->named_parameters()) file.tensors[item.key()] = to_blob(item.value(), dtype);
  if (!token_frequencies.empty()) {
    TensorBlob blob;
    blob.dtype = "U16";
    blob.shape = {net->config.num_tokens, net->config.codebook_size()};
    if (static_cast<int64_t>(token_frequencies.size()) != blob.numel())
      throw ModelError("token frequency table has the wrong size");
    for (uint16_t f : token_frequencies) {
      blob.data.push_back(static_cast<uint8_t>(f & 0xff));
      blob.data.push_back(static_cast<uint8_t>(f >> 8));
    }
    file.tensors[kFrequencyTensor] = std::move(blob);
  }
  const auto bytes = serialize_safetensors(file);
  write_bytes_atomic(path, bytes);
  return static_cast<uint32_t>(crc32(0L, bytes.data(), static_cast<uInt>(bytes.size())));
}

LoadedNetwork load_network(const std::string& path) {
  const auto bytes = read_bytes(path);
  auto file = parse_safetensors(bytes, path);
  LoadedNetwork out;
  const ModelConfig config = config_from_metadata(file.metadata, path);
  out.net = TokenizerNet(config);
  out.metadata = file.metadata;
  torch::NoGradGuard no_grad;
  for (auto& item : out.net->named_parameters()) {
    auto it = file.tensors.find(item.key());
    if (it == file.tensors.end()) throw ModelError(path + ": model file lacks tensor '" + item.key() + "'");
    const TensorBlob& blob = it->second;
    auto source = torch::from_blob(const_cast<uint8_t*>(blob.data.data()), blob.shape,
                                   torch::TensorOptions().dtype(dtype_from_name(blob.dtype, item.key())));
    if (source.sizes() != item.value().sizes())
      throw ModelError(path + ": tensor '" + item.key() + "' has shape " + c10::str(source.sizes()) +
                       ", the config needs " + c10::str(item.value().sizes()));
    item.value().copy_(source.to(torch::kFloat32));
  }
  out.info.config = config;
  out.info.path = path;
  out.info.model_id = static_cast<uint32_t>(crc32(0L, bytes.data(), static_cast<uInt>(bytes.size())));
  out.info.parameters = count_parameters(*out.net);
  auto freq = file.tensors.find(kFrequencyTensor);
  if (freq != file.tensors.end()) {
    const TensorBlob& blob = freq->second;
    if (blob.dtype != "U16" || blob.shape != std::vector<int64_t>{config.num_tokens, config.codebook_size()})
      throw ModelError(path + ": " + kFrequencyTensor + " must be U16 [num_tokens, codebook_size]");
    out.info.token_frequencies.resize(static_cast<size_t>(blob.numel()));
    for (size_t i = 0; i < out.info.token_frequencies.size(); ++i)
      out.info.token_frequencies[i] = static_cast<uint16_t>(blob.data[2 * i] | (blob.data[2 * i + 1] << 8));
    for (int p = 0; p < config.num_tokens; ++p) {
      uint32_t sum = 0;
      for (int c = 0; c < config.codebook_size(); ++c) {
        const uint16_t f = out.info.token_frequencies[static_cast<size_t>(p) * config.codebook_size() + c];
        if (f == 0) throw ModelError(path + ": token frequency table has a zero entry at position " + std::to_string(p));
        sum += f;
      }
      if (sum != 65536) throw ModelError(path + ": token frequencies of position " + std::to_string(p) + " do not sum to 65536");
    }
  }
  return out;
}

}  // namespace odp::model
