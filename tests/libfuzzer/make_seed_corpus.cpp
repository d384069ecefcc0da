// Writes the fuzzers' seed corpus: small valid .odp files of every shape in versions 2 and 1, plus cut
// copies. Usage: odp_fuzz_seeds DIR  (files for fuzz_read/fuzz_roundtrip; DIR/alloc gets copies with a 2-byte
// allocation budget in front, the input layout of fuzz_alloc).
#include <cstdio>
#include <filesystem>

#include "base/file_io.h"
#include "fuzz_common.h"

using namespace odp::format;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  fs::create_directories(dir / "alloc");
  const auto tabled = [](TokenFile image) {
    image.header.entropy_model = EntropyModel::kPositionTables;
    return image;
  };
  std::vector<std::pair<TokenFile, std::string>> seeds;
  seeds.emplace_back(test::make_image(16, 16, 16, 0, 4, {3}), "one_tile");
  seeds.emplace_back(test::make_image(40, 20, 16, 2, 7, {4, 2, 4, 4, 4, 4}), "counts");
  seeds.emplace_back(test::make_image(64, 64, 32, 0, 12, {8, 8, 8, 8}), "equal");
  seeds.emplace_back(tabled(test::make_image(50, 20, 32, 8, 6, {5, 9})), "tables");
  seeds.emplace_back(test::make_image(16, 16, 16, 0, 16, {2}), "wide_codes");
  TokenFile with_metadata = test::make_image(20, 12, 16, 4, 4, {3, 2});
  with_metadata.metadata.push_back({"EXIF", {0x2A, 0x00}});
  seeds.emplace_back(with_metadata, "metadata");
  TokenFile every_field = test::make_image(600, 300, 256, 8, 7, {4, 2, 4, 4});
  every_field.header.colour = ColourSpace::kUnspecified;
  every_field.header.grey = true;
  every_field.header.coded_width = 400;
  every_field.header.coded_height = 280;
  every_field.metadata.push_back({"ICCP", std::vector<uint8_t>(200, 0x55)});
  every_field.header.flat_tiles = {{1, {200, 30, 40}}, {3, {9, 9, 9}}};
  seeds.emplace_back(every_field, "every_field");
  seeds.emplace_back(tabled(test::make_image(256, 256, 256, 0, 12, {16})), "one_tile_default");
  TokenFile downscaled =
      tabled(test::make_image(768, 512, 256, 0, 12, {6}));  // coded_size in scale form (q 48)
  downscaled.header.coded_width = 256;
  downscaled.header.coded_height = 171;
  seeds.emplace_back(downscaled, "downscaled");
  TokenFile stretched = downscaled;  // coded_size in per-axis scale form (48, 32): one whole tile
  stretched.header.coded_height = 256;
  seeds.emplace_back(stretched, "stretched");
  for (size_t i = 0, n = seeds.size(); i < n; ++i) {  // the same shapes in version 1
    if (seeds[i].first.header.coded_width) continue;  // (and flat tiles: version 2 only)
    TokenFile v1 = seeds[i].first;
    v1.header.version = 1;
    seeds.emplace_back(v1, seeds[i].second + "_v1");
  }
  for (const auto& [image, name] : seeds) {
    const FrequencyTables tables = test::skewed_tables(image.header.codebook_bits, 3);
    const std::vector<uint8_t> file = write(image, tables);
    const std::vector<uint8_t> cut(file.begin(), file.end() - 1);
    for (const auto& [bytes, suffix] : {std::make_pair(file, ""), std::make_pair(cut, "_cut")}) {
      odp::base::write_file_atomic((dir / (name + suffix + ".odp")).string(), bytes);
      std::vector<uint8_t> alloc_input{0x03, 0x00};  // fail at the fourth allocation
      alloc_input.insert(alloc_input.end(), bytes.begin(), bytes.end());
      odp::base::write_file_atomic((dir / "alloc" / (name + suffix + ".odp")).string(), alloc_input);
    }
  }
  return 0;
}
