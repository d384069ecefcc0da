// safetensors container: parse with bounds checks, write deterministically.
#include "model/safetensors.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "model/tile_model.h"

namespace odp::model {

size_t TensorBlob::element_size() const {
  static const std::map<std::string, size_t> sizes = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
                                                      {"I64", 8}, {"I32", 4}, {"I16", 2}, {"U16", 2},
                                                      {"I8", 1},  {"U8", 1},  {"BOOL", 1}};
  auto it = sizes.find(dtype);
  if (it == sizes.end()) throw ModelError("unsupported safetensors dtype '" + dtype + "'");
  return it->second;
}

int64_t TensorBlob::numel() const {
  // Checked: a hostile shape ([2^62, 4]) must not wrap to a small count that passes the size check.
  constexpr uint64_t kMaxElements = uint64_t{1} << 56;
  uint64_t n = 1;
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;  // no data, whatever the others
  for (int64_t d : shape) {
    if (d < 0) throw ModelError("a tensor shape has a negative dimension (" + std::to_string(d) + ")");
    if (d != 0 && n > kMaxElements / static_cast<uint64_t>(d))
      throw ModelError("a tensor shape has more than 2^56 elements");
    n *= static_cast<uint64_t>(d);
  }
  return static_cast<int64_t>(n);
}

std::vector<uint8_t> serialize_safetensors(const SafetensorsFile& file) {
  nlohmann::ordered_json header;
  if (!file.metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : file.metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const auto& [name, blob] : file.tensors) {
    header[name] = {
        {"dtype", blob.dtype}, {"shape", blob.shape}, {"data_offsets", {offset, offset + blob.data.size()}}};
    offset += blob.data.size();
  }
  std::string text = header.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');
  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  for (const auto& [name, blob] : file.tensors) out.insert(out.end(), blob.data.begin(), blob.data.end());
  return out;
}

SafetensorsFile parse_safetensors(const std::vector<uint8_t>& bytes, const std::string& name,
                                  const std::set<std::string>* only_data_of) {
  auto fail = [&](const std::string& why) { return ModelError(name + ": not a valid model file: " + why); };
  if (bytes.size() < 8) throw fail("shorter than the 8-byte header size");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  if (n > bytes.size() - 8) throw fail("header size " + std::to_string(n) + " exceeds the file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("header is not JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw fail("header is not a JSON object");
  const uint64_t data_start = 8 + n, data_size = bytes.size() - data_start;
  SafetensorsFile file;
  try {
    for (const auto& [key, value] : header.items()) {
      if (key == "__metadata__") {
        for (const auto& [mk, mv] : value.items()) file.metadata[mk] = mv.get<std::string>();
        continue;
      }
      const std::string tensor = "tensor '" + base::printable(key) + "'";
      if (!value.is_object()) throw fail(tensor + " is not a JSON object");
      // Every number must be a JSON integer of the right sign: converting a float (or a negative number to
      // unsigned) inside the JSON library is undefined behaviour for values out of range.
      const nlohmann::json& entry = value;  // (a structured binding cannot be captured in C++17)
      auto integers = [&](const char* field, bool non_negative) {
        const nlohmann::json& list = entry.at(field);
        if (!list.is_array()) throw fail(tensor + " field " + field + " is not a list");
        for (const auto& item : list)
          if (!item.is_number_integer() || (non_negative && !item.is_number_unsigned()))
            throw fail(tensor + " field " + field + " holds " + item.dump() + ", not a non-negative integer");
      };
      integers("shape", true);
      integers("data_offsets", true);
      TensorBlob blob;
      blob.dtype = value.at("dtype").get<std::string>();
      blob.shape = value.at("shape").get<std::vector<int64_t>>();
      const auto offsets = value.at("data_offsets").get<std::vector<uint64_t>>();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size)
        throw fail(tensor + " field data_offsets is outside the file");
      for (int64_t d : blob.shape)
        if (d < 0) throw fail(tensor + " field shape has a negative dimension");
      uint64_t elements = 0;
      try {
        elements = static_cast<uint64_t>(blob.numel());
      } catch (const ModelError& error) {
        throw fail(tensor + " field shape: " + error.what());
      }
      const size_t element_size = blob.element_size();
      if (elements > data_size / element_size || elements * element_size != offsets[1] - offsets[0])
        throw fail(tensor + " size does not match its dtype and shape");
      if (!only_data_of || only_data_of->count(key))
        blob.data.assign(bytes.begin() + static_cast<ptrdiff_t>(data_start + offsets[0]),
                         bytes.begin() + static_cast<ptrdiff_t>(data_start + offsets[1]));
      file.tensors.emplace(key, std::move(blob));
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("malformed tensor entry (") + e.what() + ")");
  }
  return file;
}

}  // namespace odp::model
