// Benchmark helper: writes a valid .odp file for a model that declares a large image in few bytes (one token
// per tile), the "tiny file, huge work" input of issue 17. usage: odp_make_hostile_odp MODEL OUT WIDTH HEIGHT
// OVERLAP [TOKENS_PER_TILE]
#include <cstdio>
#include <string>

#include "base/file_io.h"
#include "format/odp_format.h"
#include "model/model_file.h"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s MODEL OUT WIDTH HEIGHT OVERLAP [TOKENS_PER_TILE]\n", argv[0]);
    return 1;
  }
  try {
    const odp::model::ModelInfo info = odp::model::read_model_info(argv[1]);
    odp::format::FrequencyTables tables;
    const size_t codebook = static_cast<size_t>(info.config.codebook_size());
    if (!info.token_frequencies.empty()) {
      tables.codebook_size = static_cast<uint32_t>(codebook);
      for (size_t start = 0; start + codebook <= info.token_frequencies.size(); start += codebook)
        tables.per_position.emplace_back(info.token_frequencies.begin() + start,
                                         info.token_frequencies.begin() + start + codebook);
    }
    odp::format::TokenFile file;
    odp::format::Header& header = file.header;
    header.width = static_cast<uint32_t>(std::stoul(argv[3]));
    header.height = static_cast<uint32_t>(std::stoul(argv[4]));
    header.tile_size = static_cast<uint32_t>(info.config.tile_size);
    header.tile_overlap = static_cast<uint32_t>(std::stoul(argv[5]));
    header.model_id = info.model_id;
    header.codebook_bits = static_cast<uint8_t>(info.config.codebook_bits());
    header.entropy_model =
        tables.empty() ? odp::format::EntropyModel::kUniform : odp::format::EntropyModel::kPositionTables;
    const size_t tokens = argc > 6 ? std::stoul(argv[6]) : 1;
    // The most probable code of each position: the fewest bytes per tile.
    std::vector<uint16_t> prefix(tokens, 0);
    for (size_t p = 0; p < tokens && !tables.empty(); ++p) {
      const auto& row = tables.per_position[std::min(p, tables.per_position.size() - 1)];
      for (size_t code = 0; code < row.size(); ++code)
        if (row[code] > row[prefix[p]]) prefix[p] = static_cast<uint16_t>(code);
    }
    file.tile_tokens.assign(header.tile_count(), prefix);
    const std::vector<uint8_t> bytes = odp::format::write(file, tables);
    odp::base::write_file_atomic(argv[2], bytes);
    std::printf("%s: %ux%u, overlap %u, %u tiles, %zu bytes\n", argv[2], header.width, header.height,
                header.tile_overlap, header.tile_count(), bytes.size());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", argv[0], error.what());
    return 1;
  }
}
