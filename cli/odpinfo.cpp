// odpinfo: describe .odp files without the model: size, tiles, tokens per tile, bytes per part, model id.
#include <algorithm>
#include <iostream>

#include "cli/cli_common.h"
#include "model/model_file.h"

namespace {

const char* const kUsage = R"(usage: odpinfo FILE.odp... [-v]
Prints each file's dimensions, tile grid, tokens per tile (min/mean/max), bytes per part (header,
metadata, token payload), model id, entropy coding and the metadata it carries. No model is needed.
  -v   list the token count of every tile
)";

void print_info(const std::string& name, const odp::codec::FileInfo& info, bool every_tile) {
  const auto& tokens = info.tokens_per_tile;
  double sum = 0;
  for (uint16_t count : tokens) sum += count;
  const auto [fewest, most] = std::minmax_element(tokens.begin(), tokens.end());
  std::cout << odp::base::printable(name) << ":\n"
            << "  dimensions:  " << info.width << "x" << info.height
            << (info.coded_width != info.width || info.coded_height != info.height
                    ? " (coded at " + std::to_string(info.coded_width) + "x" +
                          std::to_string(info.coded_height) + ", upsampled on decoding)"
                    : std::string())
            << "\n"
            << "  tiles:       " << info.tiles_x << "x" << info.tiles_y << " of " << info.tile_size
            << " px, overlap " << info.tile_overlap << "\n"
            << "  tokens/tile: min " << (tokens.empty() ? 0 : *fewest) << ", mean "
            << sum / std::max<size_t>(1, tokens.size()) << ", max " << (tokens.empty() ? 0 : *most) << "\n"
            << "  bytes:       " << info.file_bytes << " (header " << info.header_bytes << ", metadata "
            << info.metadata_bytes << ", tokens " << info.payload_bytes << ")"
            << (info.payload_cut ? " - cut short, a prefix is recoverable" : "") << "\n"
            << "  bits/pixel:  " << 8.0 * info.file_bytes / (double(info.width) * info.height) << "\n"
            << "  format:      version " << info.format_version << "\n"
            << "  colour:      " << (info.grey ? "grey" : "colour") << ", "
            << odp::cli::count_of_things(info.flat_tiles, "flat tile") << "\n"
            << "  model id:    "
            << odp::model::model_id_text(info.model_id).substr(8 - std::min(info.model_id_bits, 32) / 4)
            << (info.model_id_bits < 32 ? " (the low 16 bits)" : "") << ", codebook " << info.codebook_bits
            << " bits, " << (info.position_tables ? "position tables" : "uniform") << " entropy coding\n"
            << "  metadata:    ";
  if (info.metadata_tags.empty()) std::cout << "none";
  for (size_t i = 0; i < info.metadata_tags.size(); ++i)
    std::cout << (i ? ", " : "") << odp::base::printable(info.metadata_tags[i]) << " ("
              << info.metadata_sizes[i] << " bytes)";
  std::cout << "\n";
  if (every_tile) {
    std::cout << "  per tile:   ";
    for (uint16_t count : tokens) std::cout << " " << count;
    std::cout << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace odp;
  return cli::run_tool(argc, argv, kUsage, {}, {"-v"}, [](const cli::Arguments& arguments) {
    if (arguments.inputs().empty()) throw cli::UsageError("no input file given");
    int result = cli::kOk;
    for (const std::string& input : arguments.inputs()) {
      int code = cli::for_input(arguments, input, [&] {
        const std::vector<uint8_t> bytes = codec::read_odp_file(input);
        print_info(input == "-" ? "stdin" : input, codec::inspect(bytes.data(), bytes.size()),
                   arguments.has("-v"));
      });
      if (result == cli::kOk) result = code;
    }
    return result;
  });
}
