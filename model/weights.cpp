// Model files with the network (LibTorch): weights <-> safetensors; config, id and tables are
// model_file.cpp's.
#include "model/weights.h"

#include <cstdio>
#include <fstream>

#include "base/error.h"
#include "base/file_io.h"

namespace odp::model {
namespace {

const char* dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return "F32";
    case torch::kFloat16:
      return "F16";
    case torch::kBFloat16:
      return "BF16";
    case torch::kUInt8:
      return "U8";
    default:
      throw ModelError("cannot store tensors as this dtype");
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

void write_bytes_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  try {
    base::write_file_atomic(path, bytes);
  } catch (const base::Error& error) {
    throw ModelError(std::string("cannot write model file: ") + error.what());
  }
}

}  // namespace

TensorBlob tensor_to_blob(const torch::Tensor& tensor, torch::ScalarType dtype) {
  return to_blob(tensor, dtype);
}

torch::Tensor tensor_from_blob(const TensorBlob& blob, const std::string& name) {
  const auto dtype = blob.dtype == "U8" ? torch::kUInt8 : dtype_from_name(blob.dtype, name);
  auto view = torch::from_blob(const_cast<uint8_t*>(blob.data.data()), blob.shape,
                               torch::TensorOptions().dtype(dtype));
  return view.clone();  // owns its memory: the blob may go away
}

void write_safetensors_file(const std::string& path, const SafetensorsFile& file) {
  write_bytes_atomic(path, serialize_safetensors(file));
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
    file.tensors[kFrequencyTensorName] = std::move(blob);
  }
  const auto bytes = serialize_safetensors(file);
  write_bytes_atomic(path, bytes);
  return model_id_of(bytes);
}

LoadedNetwork load_network(const std::string& path) { return load_network(read_model_bytes(path), path); }

LoadedNetwork load_network(const std::vector<uint8_t>& bytes, const std::string& path) {
  auto file = parse_safetensors(bytes, path);
  LoadedNetwork out;
  out.info = model_info_from(file, bytes, path);
  out.net = TokenizerNet(out.info.config, WeightInit::kNone);  // every parameter is copied in below
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
    item.value().copy_(source);  // converts from the file's dtype as it copies
  }
  out.info.parameters = count_parameters(*out.net);
  return out;
}

}  // namespace odp::model
