// Round trips, the spec's worked example, header size, shortened payloads (every cut offset) and file
// helpers.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "format_test_util.h"

using namespace odp::format;
using namespace odp::format::test;

namespace {

// The worked example of spec/odp-format.md ("Worked example"): keep the two in sync.
const std::vector<uint8_t> kWorkedExample = {0x4F, 0x44, 0x50, 0x01, 0x03, 0x14, 0x0C, 0x04, 0x04,
                                             0x78, 0x56, 0x34, 0x12, 0x03, 0x02, 0x01, 0x01, 0x45,
                                             0x58, 0x49, 0x46, 0x02, 0x2A, 0x00, 0x03, 0x76, 0xF9,
                                             0x15, 0x71, 0x35, 0xF7, 0x5C, 0xF8, 0x14, 0xF9, 0x70};

Image worked_example_image() {
  Image image;
  image.header.width = 20;
  image.header.height = 12;
  image.header.tile_size = 16;
  image.header.tile_overlap = 4;
  image.header.model_id = 0x12345678;
  image.header.codebook_bits = 4;
  image.metadata.push_back({"EXIF", {0x2A, 0x00}});
  image.tile_tokens = {{1, 15, 7}, {4, 9}};
  return image;
}

void require_same(const Image& a, const Image& b) {
  CHECK(a.header.width == b.header.width);
  CHECK(a.header.height == b.header.height);
  CHECK(a.header.tile_size == b.header.tile_size);
  CHECK(a.header.tile_overlap == b.header.tile_overlap);
  CHECK(a.header.model_id == b.header.model_id);
  CHECK(a.header.codebook_bits == b.header.codebook_bits);
  CHECK(a.header.entropy_model == b.header.entropy_model);
  REQUIRE(a.metadata.size() == b.metadata.size());
  for (size_t i = 0; i < a.metadata.size(); ++i) {
    CHECK(a.metadata[i].tag == b.metadata[i].tag);
    CHECK(a.metadata[i].bytes == b.metadata[i].bytes);
  }
  REQUIRE(a.tile_tokens == b.tile_tokens);
}

}  // namespace

TEST_CASE("tile counts follow codec/tiling.h's formula") {
  Header header;
  header.tile_size = 256;
  header.tile_overlap = 32;
  const std::vector<std::pair<uint32_t, uint32_t>> length_to_tiles = {{1, 1},   {256, 1}, {257, 2},
                                                                      {480, 2}, {481, 3}, {65535, 293}};
  for (auto [length, tiles] : length_to_tiles) {
    header.width = length;
    header.height = 100;
    CHECK(header.tiles_x() == tiles);
    CHECK(header.tiles_y() == 1);
  }
  header.tile_overlap = 256;  // invalid geometry: no tiles rather than a division by zero
  CHECK(header.tiles_x() == 0);
}

TEST_CASE("the worked example of the spec is produced and read byte for byte") {
  REQUIRE(write(worked_example_image()) == kWorkedExample);
  const Image back = read(kWorkedExample.data(), kWorkedExample.size());
  require_same(back, worked_example_image());
  CHECK_FALSE(back.was_cut);
  const Summary summary = summarize(kWorkedExample.data(), kWorkedExample.size());
  CHECK(summary.header_bytes == 33);
  CHECK(summary.payload_bytes == 3);
  CHECK(summary.metadata_bytes == 8);
  CHECK(summary.tokens_per_tile == std::vector<uint16_t>{3, 2});

  // The spec's shortened copies: 35, 34 and 33 bytes, and an incomplete header at 32.
  using Tiles = std::vector<std::vector<uint16_t>>;
  const std::vector<std::pair<size_t, Tiles>> cuts = {
      {35, {{1, 15}, {4, 9}}}, {34, {{1}, {4}}}, {33, {{}, {}}}};
  for (const auto& [size, tiles] : cuts) {
    const Image cut = read(kWorkedExample.data(), size);
    CHECK(cut.was_cut);
    CHECK(cut.tile_tokens == tiles);
  }
  CHECK_THROWS_WITH(read(kWorkedExample.data(), 32), Catch::Contains("field 'header_crc'"));
}

TEST_CASE("a 256x256 single-tile image has a tiny header") {
  const Image image = make_image(256, 256, 256, 0, 12, {256});
  const std::vector<uint8_t> file = write(image);
  const Summary summary = summarize(file.data(), file.size());
  std::printf("256x256, 1 tile, 256 tokens of 12 bits: header %llu bytes, payload %llu bytes\n",
              static_cast<unsigned long long>(summary.header_bytes),
              static_cast<unsigned long long>(summary.payload_bytes));
  CHECK(summary.header_bytes <= 27);
  CHECK(summary.payload_bytes <= 256 * 12 / 8 + 2);
}

TEST_CASE("images round-trip through write and read") {
  SECTION("uniform coding at every codebook size") {
    for (uint8_t bits = 1; bits <= 16; ++bits) {
      const Image image = make_image(700, 300, 256, 16, bits, {5, 1, 256, 7, 7, 2}, bits);
      const std::vector<uint8_t> file = write(image);
      require_same(read(file.data(), file.size()), image);
    }
  }
  SECTION("equal counts use one count byte, metadata is carried") {
    Image image = make_image(64, 64, 16, 0, 10, std::vector<int>(16, 40), 7);
    image.metadata.push_back({"ICCP", std::vector<uint8_t>(300, 0xAB)});
    image.metadata.push_back({"EXIF", {}});
    const std::vector<uint8_t> file = write(image);
    require_same(read(file.data(), file.size()), image);
    const Summary summary = summarize(file.data(), file.size());
    CHECK(summary.tokens_per_tile == std::vector<uint16_t>(16, 40));
    CHECK(summary.file_bytes == file.size());
    CHECK(summary.header_bytes + summary.payload_bytes == file.size());
  }
  SECTION("position tables, fewer tables than positions") {
    Image image = make_image(40, 40, 32, 8, 6, {256, 3, 100, 1}, 3);
    const FrequencyTables tables = skewed_tables(6, 5);
    image.header.entropy_model = EntropyModel::kPositionTables;
    const std::vector<uint8_t> file = write(image, tables);
    require_same(read(file.data(), file.size(), tables), image);
    CHECK_THROWS_AS(read(file.data(), file.size()), FormatError);  // tables missing
  }
}

TEST_CASE("a payload cut at any offset decodes to a growing token-major prefix") {
  Image uniform = make_image(100, 60, 32, 4, 12, {9, 9, 8, 9, 9, 8, 3, 9}, 11);
  Image tabled = make_image(100, 60, 32, 4, 5, {20, 1, 20, 20, 19, 20, 20, 20}, 12);
  tabled.header.entropy_model = EntropyModel::kPositionTables;
  const FrequencyTables tables = skewed_tables(5, 20);
  for (const Image* image : {&uniform, &tabled}) {
    const std::vector<uint8_t> file = write(*image, tables);
    const Summary summary = summarize(file.data(), file.size());
    const size_t total = total_tokens(*image);
    for (size_t cut = 0; cut < summary.header_bytes; ++cut) {
      CHECK_THROWS_AS(read(file.data(), cut, tables), FormatError);
    }
    size_t previous_prefix = 0;
    for (size_t cut = summary.header_bytes; cut <= file.size(); ++cut) {
      const Image back = read(file.data(), cut, tables);
      CHECK(back.was_cut == (cut < file.size()));
      const size_t prefix = total_tokens(back);
      CHECK(prefix >= previous_prefix);
      previous_prefix = prefix;
      require_same(back, token_major_prefix(*image, prefix));
      if (cut == file.size() - 1) CHECK(prefix < total);  // the flush is minimal: every byte matters
    }
    CHECK(previous_prefix == total);
  }
}

TEST_CASE("truncate_tokens keeps a per-tile prefix") {
  const Image image = make_image(64, 32, 32, 0, 8, {10, 3}, 5);
  const Image cut = truncate_tokens(image, 4);
  CHECK(cut.tile_tokens[0] ==
        std::vector<uint16_t>(image.tile_tokens[0].begin(), image.tile_tokens[0].begin() + 4));
  CHECK(cut.tile_tokens[1] == image.tile_tokens[1]);
  CHECK_THROWS_AS(truncate_tokens(image, 0), FormatError);
}
