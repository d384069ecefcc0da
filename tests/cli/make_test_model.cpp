// Test helper: writes a tiny random model file (32 px tiles, 16 tokens), optionally with entropy tables, or
// one that LibTorch refuses to load (--libtorch-fails: a tensor whose shape overflows LibTorch's element
// count). usage: odp_make_test_model OUT.safetensors SEED [--tables | --libtorch-fails]
#include <cstdio>
#include <cstring>
#include <string>

#include "base/file_io.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "tests/tiny_model_config.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OUT.safetensors SEED [--tables]\n", argv[0]);
    return 1;
  }
  const odp::model::ModelConfig config = odp::testing::tiny_model_config();
  torch::manual_seed(std::stoull(argv[2]));
  odp::model::TokenizerNet net(config);
  std::vector<uint16_t> frequencies;
  if (argc > 3 && std::strcmp(argv[3], "--tables") == 0) {
    // Flat tables: every code of every position equally likely (65536 / codebook each).
    frequencies.assign(static_cast<size_t>(config.num_tokens) * config.codebook_size(),
                       static_cast<uint16_t>(65536 / config.codebook_size()));
  }
  odp::model::save_network(argv[1], net, torch::kFloat32, {}, frequencies);
  if (argc > 3 && std::strcmp(argv[3], "--libtorch-fails") == 0) {
    // 2^62 x 2^62 x 0 elements: no data, which odp's checks accept, but LibTorch's element count overflows.
    odp::model::SafetensorsFile file = odp::model::parse_safetensors(odp::base::read_file(argv[1]), argv[1]);
    const std::string victim = net->named_parameters().begin()->key();
    file.tensors.at(victim).shape = {int64_t{1} << 62, int64_t{1} << 62, 0};
    file.tensors.at(victim).data.clear();
    // An unused tensor of the victim's size keeps the file's element count at what the config needs, so
    // that odp's own count check (model_info_from) passes and LibTorch is the one that fails.
    odp::model::TensorBlob& filler = file.tensors["unused.filler"];
    filler.dtype = "F32";
    filler.shape = {net->named_parameters().begin()->value().numel()};
    filler.data.assign(static_cast<size_t>(filler.shape[0]) * 4, 0);
    odp::base::write_file_atomic(argv[1], odp::model::serialize_safetensors(file));
  }
  return 0;
}
