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
  TokenFile stretched = downscaled;  // coded_size in one-tile form (no bytes): one whole tile
  stretched.header.coded_height = 256;
  seeds.emplace_back(stretched, "stretched");
  TokenFile two_tiles = tabled(test::make_image(768, 512, 256, 0, 12, {6, 5}));
  two_tiles.header.coded_width = 512;  // coded_size in per-axis scale form (24, 32): two whole tiles
  two_tiles.header.coded_height = 256;
  seeds.emplace_back(two_tiles, "stretched_two_tiles");
  seeds.emplace_back(test::make_image(300, 20, 512, 0, 8, {4}), "size_form_3");
  // Token counts in packed form (spec 4.1): 1, 3 and 7 bits per deficit, and unequal counts that stay one
  // byte per tile (packed would not be shorter).
  seeds.emplace_back(tabled(test::make_image(768, 512, 256, 0, 12, {2, 1, 1, 2, 1, 3})), "packed_counts");
  seeds.emplace_back(test::make_image(64, 48, 16, 0, 4, {3, 3, 2, 3, 3, 3, 3, 3, 2, 3, 3, 3}),
                     "packed_counts_1_bit");
  seeds.emplace_back(test::make_image(64, 48, 16, 0, 4, {8, 1, 5, 8, 2, 7, 3, 8, 6, 4, 8, 8}),
                     "packed_counts_3_bits");
  std::vector<int> wide(24, 2);
  wide[5] = 128;
  seeds.emplace_back(test::make_image(96, 64, 16, 0, 2, wide), "packed_counts_7_bits");
  seeds.emplace_back(test::make_image(48, 16, 16, 0, 4, {9, 1, 40}), "per_tile_counts");
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
  // Earlier writers' files, still read (spec 3.3, 5.2): 13.5's image with its size in form 2, and 13.7's with
  // its size in form 2 and its one-tile coded size in per-axis scale form.
  const std::vector<std::pair<std::vector<uint8_t>, std::string>> earlier = {
      {{0x4F, 0x82, 0x16, 0xF8, 0x14, 0x08, 0x0B, 0xFF, 0x05, 0xFF, 0x03, 0x12, 0x30, 0x01, 0xF8, 0x06, 0x12,
        0x3A, 0xBC},
       "earlier_size_form_2"},
      {{0x4F, 0x82, 0x16, 0xF8, 0x14, 0x08, 0x0B, 0xFF, 0x05, 0xFF,
        0x03, 0x32, 0x30, 0x20, 0x01, 0x7D, 0x1A, 0x12, 0x3A, 0xBC},
       "earlier_one_tile_per_axis"},
      // 13.8's image with its counts one byte per tile (before the packed form).
      {{0x4F, 0x82, 0x27, 0xF8, 0x14, 0x08, 0x0B, 0xFF, 0xF2, 0x1F, 0x01, 0x00, 0x00, 0x01, 0x00, 0x02, 0xF4,
        0xF9, 0x12, 0x37, 0x89, 0xAB, 0xCD, 0xEF, 0x34, 0x56, 0x78, 0x45, 0x60, 0x12, 0x9A, 0xBC, 0xDE},
       "earlier_per_tile_counts"}};
  for (const auto& [bytes, name] : earlier)
    odp::base::write_file_atomic((dir / (name + ".odp")).string(), bytes);
  return 0;
}
