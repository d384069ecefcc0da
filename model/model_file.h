// Model files without LibTorch: read a file's hyper-parameters, id and entropy tables; config <-> metadata.
// odptrunc and odpinfo use this to get the entropy tables without loading (or linking) the network.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/safetensors.h"
#include "model/tile_model.h"

namespace odp::model {

// Name of the optional U16 [num_tokens, codebook_size] tensor of per-position token frequencies.
extern const char* const kFrequencyTensorName;

std::map<std::string, std::string> config_to_metadata(const ModelConfig& config);
ModelConfig config_from_metadata(const std::map<std::string, std::string>& metadata, const std::string& name);

// A model file's id, as .odp files store it: the CRC-32 (zlib) of the file's bytes.
uint32_t model_id_of(const std::vector<uint8_t>& file_bytes);
// The id as every tool prints it: 8 lower-case hex digits ("39505764").
std::string model_id_text(uint32_t id);

// Reads a whole file (throws ModelError naming it when it cannot).
std::vector<uint8_t> read_model_bytes(const std::string& path);
// Everything about a parsed model file but its weights: config, id (CRC-32 of `bytes`), checked tables.
ModelInfo model_info_from(const SafetensorsFile& file, const std::vector<uint8_t>& bytes,
                          const std::string& path);
// read_model_bytes + parse_safetensors + model_info_from. parameters is left 0 (no network is built).
ModelInfo read_model_info(const std::string& path);

}  // namespace odp::model
