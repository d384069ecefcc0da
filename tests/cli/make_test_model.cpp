// Test helper: writes a tiny random model file (32 px tiles, 16 tokens), optionally with entropy tables.
// usage: odp_make_test_model OUT.safetensors SEED [--tables]
#include <cstdio>
#include <cstring>
#include <string>

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
  return 0;
}
