// libFuzzer target for the model file's parser (safetensors header, tensor table, hyper-parameters and the
// entropy tables), as odpinfo/odptrunc/odpdec read a --model file: parse_safetensors + model_info_from end in
// a ModelInfo or ModelError, never a crash, undefined behaviour (the JSON conversions) or a huge allocation.
#include <cstdio>
#include <cstdlib>
#include <set>

#include "model/model_file.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  try {
    const std::set<std::string> tables = {odp::model::kFrequencyTensorName};
    const odp::model::SafetensorsFile file = odp::model::parse_safetensors(bytes, "fuzz", &tables);
    for (const auto& [name, blob] : file.tensors)
      if (!blob.data.empty() && blob.data.size() != static_cast<size_t>(blob.numel()) * blob.element_size())
        std::abort();
    odp::model::model_info_from(file, bytes, "fuzz");
  } catch (const odp::model::ModelError&) {
  }
  return 0;
}
