// Round trips (versions 2 and 1), the spec's worked examples byte for byte, header sizes, cut files (every
// cut offset) and file helpers.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "format_test_util.h"

using namespace odp::format;
using namespace odp::format::test;

namespace {

// The worked examples of spec/odp-format.md (section 13): keep them in sync.
// 13.1: a one-tile version 2 file.
const std::vector<uint8_t> kOneTileV2 = {0x4F, 0x82, 0x04, 0xF8, 0x14, 0x08, 0x0B,
                                         0x01, 0xBD, 0xB5, 0x12, 0x3A, 0xBC};
// 13.2: 13.3's image in version 2.
const std::vector<uint8_t> kWorkedExampleV2 = {0x4F, 0x82, 0x3D, 0x78, 0x56, 0x04, 0x03, 0x13, 0x0B,
                                               0x04, 0x04, 0x01, 0x45, 0x58, 0x49, 0x46, 0x00, 0x02,
                                               0x2A, 0x00, 0x02, 0x01, 0x88, 0xB6, 0x14, 0xF9, 0x70};
// 13.5: a 768x512 image (size form 3) coded at 256x171, the coded size in scale form.
const std::vector<uint8_t> kDownscaledV2 = {0x4F, 0x82, 0x17, 0xF8, 0x14, 0x08, 0x0B, 0xFF, 0xF2,
                                            0x1F, 0x12, 0x30, 0x01, 0x81, 0x48, 0x12, 0x3A, 0xBC};
// 13.5's last paragraph: the same file as writers before size form 3 wrote it (size form 2).
const std::vector<uint8_t> kDownscaledSizeForm2 = {0x4F, 0x82, 0x16, 0xF8, 0x14, 0x08, 0x0B, 0xFF, 0x05, 0xFF,
                                                   0x03, 0x12, 0x30, 0x01, 0xF8, 0x06, 0x12, 0x3A, 0xBC};
// 13.6: the same image coded at 512x256 in two tiles, the coded size in per-axis scale form.
const std::vector<uint8_t> kStretchedV2 = {0x4F, 0x82, 0x17, 0xF8, 0x14, 0x08, 0x0B, 0xFF, 0xF2, 0x1F, 0x32,
                                           0x18, 0x20, 0x01, 0x25, 0x17, 0x12, 0x34, 0x56, 0xAB, 0xCD, 0xEF};
// 13.7: the same image coded at 256x256, the coded size in one-tile form.
const std::vector<uint8_t> kOneTileStretchedV2 = {0x4F, 0x82, 0x17, 0xF8, 0x14, 0x08, 0x0B, 0xFF, 0xF2,
                                                  0x1F, 0x22, 0x01, 0x7D, 0xDE, 0x12, 0x3A, 0xBC};
// 13.7's last paragraph: 13.7's image as the writer before the one-tile form and size form 3 wrote it.
const std::vector<uint8_t> kOneTileStretchedEarlier = {0x4F, 0x82, 0x16, 0xF8, 0x14, 0x08, 0x0B,
                                                       0xFF, 0x05, 0xFF, 0x03, 0x32, 0x30, 0x20,
                                                       0x01, 0x7D, 0x1A, 0x12, 0x3A, 0xBC};
// 13.8: a 768x512 photo in 6 tiles of unequal counts, the counts in packed form.
const std::vector<uint8_t> kPackedCountsV2 = {0x4F, 0x82, 0x47, 0xF8, 0x14, 0x08, 0x0B, 0xFF, 0xF2, 0x1F,
                                              0x02, 0x49, 0x13, 0xAE, 0x55, 0x12, 0x37, 0x89, 0xAB, 0xCD,
                                              0xEF, 0x34, 0x56, 0x78, 0x45, 0x60, 0x12, 0x9A, 0xBC, 0xDE};
// 13.3: version 1.
const std::vector<uint8_t> kWorkedExample = {0x4F, 0x44, 0x50, 0x01, 0x03, 0x14, 0x0C, 0x04, 0x04,
                                             0x78, 0x56, 0x34, 0x12, 0x03, 0x02, 0x01, 0x01, 0x45,
                                             0x58, 0x49, 0x46, 0x02, 0x2A, 0x00, 0x03, 0x76, 0xF9,
                                             0x15, 0x71, 0x35, 0xF7, 0x5C, 0xF8, 0x14, 0xF9, 0x70};

TokenFile one_tile_image() {
  TokenFile image;
  image.header.width = image.header.height = 256;
  image.header.tile_size = 256;
  image.header.model_id = 0x779A14F8;
  image.header.codebook_bits = 12;
  image.tile_tokens = {{0x123, 0xABC}};
  return image;
}

// a: as read back, b: as written (the model id as many bits as the file holds).
void require_same(const TokenFile& a, const TokenFile& b) {
  CHECK(a.header.version == b.header.version);
  CHECK(a.header.matches_model(b.header.model_id));
  CHECK(a.header.model_id_bits == (b.header.version == 1 ? 32 : 16));
  if (b.header.version >= 2) {
    CHECK(a.header.colour == b.header.colour);
    CHECK(a.header.grey == b.header.grey);
    CHECK(a.header.grid_width() == b.header.grid_width());
    CHECK(a.header.grid_height() == b.header.grid_height());
  }
  CHECK(a.header.width == b.header.width);
  CHECK(a.header.height == b.header.height);
  CHECK(a.header.tile_size == b.header.tile_size);
  CHECK(a.header.tile_overlap == b.header.tile_overlap);
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

TokenFile downscaled_image() {
  TokenFile image = one_tile_image();
  image.header.width = 768, image.header.height = 512;
  image.header.coded_width = 256, image.header.coded_height = 171;
  return image;
}

TEST_CASE("the spec's downscaled example (13.5) is produced and read byte for byte") {
  REQUIRE(write(downscaled_image()) == kDownscaledV2);
  const TokenFile back = read(kDownscaledV2.data(), kDownscaledV2.size());
  require_same(back, downscaled_image());
  CHECK(back.header.coded_width == 256);
  CHECK(back.header.coded_height == 171);
  CHECK(summarize(kDownscaledV2.data(), kDownscaledV2.size()).header_bytes == 15);

  // The size in form 2, as writers before form 3 wrote it (13.5's last paragraph), still reads, and is
  // rewritten 1 byte shorter with the same payload.
  const TokenFile form2_back = read(kDownscaledSizeForm2.data(), kDownscaledSizeForm2.size());
  require_same(form2_back, downscaled_image());
  CHECK(write(form2_back) == kDownscaledV2);

  // The explicit form of the same coded size, as earlier writers wrote it (13.5's last paragraph), still
  // reads.
  test::RawV2 explicit_form;
  explicit_form.flags = 0x16;
  explicit_form.model_id = {0xF8, 0x14};
  explicit_form.coding = {0x08, 0x0B};
  explicit_form.size = {0xFF, 0x05, 0xFF, 0x03};
  explicit_form.extensions = {0x02, 0xFF, 0x01, 0xAA, 0x01};
  explicit_form.counts = {0x01};
  explicit_form.payload = {0x12, 0x3A, 0xBC};
  const std::vector<uint8_t> legacy = explicit_form.bytes();
  REQUIRE(legacy.size() == 22);
  const TokenFile legacy_back = read(legacy.data(), legacy.size());
  require_same(legacy_back, downscaled_image());
  CHECK(write(legacy_back) == kDownscaledV2);  // rewritten in the scale form and size form 3
}

TEST_CASE("the spec's stretched example (13.6) is produced and read byte for byte") {
  TokenFile stretched = downscaled_image();
  stretched.header.coded_width = 512, stretched.header.coded_height = 256;
  stretched.tile_tokens = {{0x123, 0xABC}, {0x456, 0xDEF}};
  REQUIRE(write(stretched) == kStretchedV2);
  const TokenFile back = read(kStretchedV2.data(), kStretchedV2.size());
  require_same(back, stretched);
  CHECK(back.header.coded_width == 512);
  CHECK(back.header.coded_height == 256);
  CHECK(summarize(kStretchedV2.data(), kStretchedV2.size()).header_bytes == 16);
}

TEST_CASE("the spec's one-tile example (13.7) is produced and read byte for byte") {
  TokenFile stretched = downscaled_image();
  stretched.header.coded_height = 256;
  REQUIRE(write(stretched) == kOneTileStretchedV2);
  const TokenFile back = read(kOneTileStretchedV2.data(), kOneTileStretchedV2.size());
  require_same(back, stretched);
  CHECK(back.header.coded_width == 256);
  CHECK(back.header.coded_height == 256);
  CHECK(summarize(kOneTileStretchedV2.data(), kOneTileStretchedV2.size()).header_bytes == 14);
  // The previous writer's file of the same image (size form 2, per-axis scale form) reads as the same image
  // and is rewritten 3 bytes shorter.
  const TokenFile earlier = read(kOneTileStretchedEarlier.data(), kOneTileStretchedEarlier.size());
  require_same(earlier, stretched);
  CHECK(write(earlier) == kOneTileStretchedV2);
  // A portrait photo and one with a side inside the tile: each side is min(side, T).
  TokenFile portrait = stretched;
  portrait.header.width = 512, portrait.header.height = 768;
  const std::vector<uint8_t> portrait_file = write(portrait);
  CHECK(summarize(portrait_file.data(), portrait_file.size()).header_bytes == 14);
  CHECK(read(portrait_file.data(), portrait_file.size()).header.grid_height() == 256);
  TokenFile narrow = stretched;
  narrow.header.width = 200, narrow.header.coded_width = 200;
  const std::vector<uint8_t> narrow_file = write(narrow);
  CHECK(summarize(narrow_file.data(), narrow_file.size()).header_bytes == 14);  // size form 3 again
  const Header narrow_back = read(narrow_file.data(), narrow_file.size()).header;
  CHECK(narrow_back.grid_width() == 200);
  CHECK(narrow_back.grid_height() == 256);
}

TEST_CASE("the spec's packed-counts example (13.8) is produced and read byte for byte") {
  TokenFile photo = one_tile_image();
  photo.header.width = 768, photo.header.height = 512;  // 3x2 tiles
  photo.tile_tokens = {{0x123, 0x456}, {0x789}, {0xABC}, {0xDEF, 0x012}, {0x345}, {0x678, 0x9AB, 0xCDE}};
  REQUIRE(write(photo) == kPackedCountsV2);
  const TokenFile back = read(kPackedCountsV2.data(), kPackedCountsV2.size());
  require_same(back, photo);
  CHECK(summarize(kPackedCountsV2.data(), kPackedCountsV2.size()).header_bytes == 15);
  CHECK(token_counts_bytes({2, 1, 1, 2, 1, 3}) == 3);
  // The same image with its counts one byte per tile, as writers before the packed form wrote it: read as the
  // same image, rewritten 3 bytes shorter with the same payload.
  test::RawV2 per_tile;
  per_tile.flags = 0x27;  // size_form 3, CODING, PER_TILE_COUNTS
  per_tile.model_id = {0xF8, 0x14};
  per_tile.coding = {0x08, 0x0B};
  per_tile.size = {0xFF, 0xF2, 0x1F};
  per_tile.counts = {1, 0, 0, 1, 0, 2};
  per_tile.payload.assign(kPackedCountsV2.begin() + 15, kPackedCountsV2.end());
  const std::vector<uint8_t> earlier = per_tile.bytes();
  REQUIRE(earlier.size() == kPackedCountsV2.size() + 3);
  CHECK(earlier[16] == 0xF4);  // the check the spec gives
  CHECK(earlier[17] == 0xF9);
  require_same(read(earlier.data(), earlier.size()), photo);
  CHECK(write(read(earlier.data(), earlier.size())) == kPackedCountsV2);
}

TEST_CASE("token counts take the shortest form: one count, per tile, or packed (a tie keeps per tile)") {
  // counts, bytes of the field; 6 tiles: packed is 1 + ceil((3 + 6 * width) / 8) bytes.
  const std::vector<std::pair<std::vector<uint16_t>, uint64_t>> cases = {
      {{7, 7, 7, 7, 7, 7}, 1},    // one count
      {{7, 6, 7, 7, 7, 7}, 3},    // deficits 0..1: 1 bit
      {{7, 4, 7, 7, 7, 7}, 3},    // 0..3: 2 bits
      {{8, 1, 7, 7, 7, 7}, 4},    // 0..7: 3 bits
      {{16, 1, 7, 7, 7, 7}, 5},   // 0..15: 4 bits
      {{32, 1, 7, 7, 7, 7}, 6},   // 0..31: 5 bits, 6 bytes as per tile: per tile
      {{256, 1, 7, 7, 7, 7}, 6},  // 8 bits
      {{2, 1}, 2},                // 2 tiles: packed would take 2 bytes too
      {{3, 1, 1, 1}, 3},          // 4 tiles, 2 bits: 3 bytes
  };
  for (const auto& [counts, bytes] : cases) {
    INFO("counts " << counts.size() << " tiles, first two " << counts[0] << " " << counts[1]);
    CHECK(token_counts_bytes(counts) == bytes);
    CHECK(token_counts_bytes(counts, 1) ==
          (counts == std::vector<uint16_t>(counts.size(), counts[0]) ? 1 : counts.size()));
  }
  // Many tiles: 192 (a 4096x3072 photo) of counts 40..47 take 1 + ceil((3 + 192 * 3) / 8) = 74 bytes.
  std::vector<int> many;
  for (int tile = 0; tile < 192; ++tile) many.push_back(40 + tile % 8);
  const TokenFile big = make_image(4096, 3072, 256, 0, 12, many, 5);
  const std::vector<uint8_t> file = write(big);
  const Summary summary = summarize(file.data(), file.size());
  CHECK(summary.header_bytes == 2 + 1 + 2 + 2 + 3 + 74 + 2);
  CHECK(read(file.data(), file.size()).tile_tokens == big.tile_tokens);
}

TEST_CASE("a size takes form 3 for sides up to 4096 above 256, else two leb128") {
  TokenFile image = one_tile_image();
  // width, height, size_form, header bytes (11 besides the size: the coded size in one-tile form).
  const std::vector<std::tuple<uint32_t, uint32_t, int, size_t>> cases = {
      {257, 1, 3, 14},   {4096, 4096, 3, 14}, {4032, 3024, 3, 14},
      {4097, 10, 2, 14}, {10, 4097, 2, 14},   {65535, 2, 2, 15}};
  for (const auto& [width, height, size_form, header_bytes] : cases) {
    image.header.width = width, image.header.height = height;
    image.header.coded_width = std::min(width, 256u), image.header.coded_height = std::min(height, 256u);
    const std::vector<uint8_t> file = write(image);
    INFO(width << "x" << height);
    CHECK((file[2] & 3) == size_form);
    const TokenFile back = read(file.data(), file.size());
    CHECK(back.header.width == width);
    CHECK(back.header.height == height);
    CHECK(summarize(file.data(), file.size()).header_bytes == header_bytes);
  }
}

TEST_CASE("a coded size takes its shortest form: one tile, one q, one q per axis, else two leb128") {
  TokenFile image = downscaled_image();
  image.tile_tokens.clear();
  // The encoder's divisors over 768x512 (base::scaled_size rounds half away from zero, the spec half up: the
  // same for these positive sizes), the copy shrunk per axis, which no q gives, the copy stretched to one
  // tile, which takes no bytes, and the one stretched to two whole tiles, which takes one q per axis.
  const std::vector<std::tuple<uint32_t, uint32_t, size_t>> cases = {
      {384, 256, 15}, {256, 171, 15}, {192, 128, 15}, {128, 85, 15},
      {96, 64, 15},   {704, 480, 18}, {256, 256, 14}, {512, 256, 16}};
  for (const auto& [width, height, header_bytes] : cases) {
    image.header.coded_width = width, image.header.coded_height = height;
    image.tile_tokens.assign(image.header.tile_count(), {1});
    const std::vector<uint8_t> file = write(image);
    const TokenFile back = read(file.data(), file.size());
    CHECK(back.header.coded_width == width);
    CHECK(back.header.coded_height == height);
    const size_t header = summarize(file.data(), file.size()).header_bytes;
    INFO(width << "x" << height);
    CHECK(header == header_bytes);  // 13.5's 15 bytes; one tile: 14; two q: 16; two leb128 of 2 bytes: 18
  }
}

TEST_CASE("the spec's version 2 one-tile example (13.1) is produced and read byte for byte") {
  REQUIRE(write(one_tile_image()) == kOneTileV2);
  const TokenFile back = read(kOneTileV2.data(), kOneTileV2.size());
  require_same(back, one_tile_image());
  CHECK(back.header.model_id == 0x14F8);
  CHECK(back.header.colour == ColourSpace::kSrgb);
  CHECK_FALSE(back.was_cut);
  const Summary summary = summarize(kOneTileV2.data(), kOneTileV2.size());
  CHECK(summary.header_bytes == 10);
  CHECK(summary.payload_bytes == 3);
  CHECK_FALSE(summary.cut_known);
  using Tiles = std::vector<std::vector<uint16_t>>;
  const std::vector<std::pair<size_t, Tiles>> cuts = {{12, {{0x123}}}, {11, {{}}}, {10, {{}}}};
  for (const auto& [size, tiles] : cuts) {
    const TokenFile cut = read(kOneTileV2.data(), size);
    CHECK(cut.was_cut);
    CHECK(cut.tile_tokens == tiles);
  }
  CHECK_THROWS_WITH(read(kOneTileV2.data(), 9), Catch::Contains("field 'check'"));

  // The hand-run encoder of 13.1: the payload is the 3 bytes 12 3A BC.
  CHECK(std::vector<uint8_t>(kOneTileV2.end() - 3, kOneTileV2.end()) ==
        std::vector<uint8_t>{0x12, 0x3A, 0xBC});
  // The CRC-16 of the spec's conventions (section 1).
  const std::string digits = "123456789";
  CHECK(wire::crc16_of(reinterpret_cast<const uint8_t*>(digits.data()), digits.size()) == 0xBB3D);
}

TEST_CASE("the spec's version 2 example of the version 1 image (13.2) is produced and read byte for byte") {
  REQUIRE(write(worked_example_image(2)) == kWorkedExampleV2);
  const TokenFile back = read(kWorkedExampleV2.data(), kWorkedExampleV2.size());
  require_same(back, worked_example_image(2));
  const Summary summary = summarize(kWorkedExampleV2.data(), kWorkedExampleV2.size());
  CHECK(summary.header_bytes == 24);
  CHECK(summary.metadata_bytes == 9);
  CHECK(summary.tokens_per_tile == std::vector<uint16_t>{3, 2});
  // The same cuts as 13.3's: the payload is the same.
  using Tiles = std::vector<std::vector<uint16_t>>;
  const std::vector<std::pair<size_t, Tiles>> cuts = {
      {26, {{1, 15}, {4, 9}}}, {25, {{1}, {4}}}, {24, {{}, {}}}};
  for (const auto& [size, tiles] : cuts) {
    const TokenFile cut = read(kWorkedExampleV2.data(), size);
    CHECK(cut.was_cut);
    CHECK(cut.tile_tokens == tiles);
  }
  CHECK_THROWS_WITH(read(kWorkedExampleV2.data(), 23), Catch::Contains("field 'check'"));
}

TEST_CASE("the spec's version 1 example (13.3) is produced and read byte for byte") {
  REQUIRE(write(worked_example_image()) == kWorkedExample);
  const TokenFile back = read(kWorkedExample.data(), kWorkedExample.size());
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
    const TokenFile cut = read(kWorkedExample.data(), size);
    CHECK(cut.was_cut);
    CHECK(cut.tile_tokens == tiles);
  }
  CHECK_THROWS_WITH(read(kWorkedExample.data(), 32), Catch::Contains("field 'header_crc'"));
}

namespace {

// read_payload() on summarize()'s result against read() on the first `size` bytes of file.
void require_two_step_read(const std::vector<uint8_t>& file, size_t size,
                           const FrequencyTables& tables = {}) {
  INFO("the first " << size << " of " << file.size() << " bytes");
  const Summary summary = summarize(file.data(), size);
  const TokenFile two_step = read_payload(summary, file.data(), size, tables);
  const TokenFile one_shot = read(file.data(), size, tables);
  require_same(two_step, one_shot);
  CHECK(two_step.header.model_id == one_shot.header.model_id);
  CHECK(two_step.was_cut == one_shot.was_cut);
  CHECK(two_step.tile_tokens.size() == summary.tokens_per_tile.size());
}

}  // namespace

TEST_CASE("summarize then read_payload reads the spec's worked examples, whole and cut, as read() does") {
  using Tiles = std::vector<std::vector<uint16_t>>;
  struct Example {
    const std::vector<uint8_t>& bytes;
    TokenFile written;
    std::vector<std::pair<size_t, Tiles>> cuts;  // the spec's shortened copies
  };
  const std::vector<Example> examples = {
      {kOneTileV2, one_tile_image(), {{12, {{0x123}}}, {11, {{}}}, {10, {{}}}}},
      {kWorkedExampleV2,
       worked_example_image(2),
       {{26, {{1, 15}, {4, 9}}}, {25, {{1}, {4}}}, {24, {{}, {}}}}},
      {kDownscaledV2, downscaled_image(), {}},
      {kWorkedExample, worked_example_image(), {{35, {{1, 15}, {4, 9}}}, {34, {{1}, {4}}}, {33, {{}, {}}}}},
  };
  for (const Example& example : examples) {
    const std::vector<uint8_t>& file = example.bytes;
    const Summary summary = summarize(file.data(), file.size());
    const TokenFile whole = read_payload(summary, file.data(), file.size());
    CHECK_FALSE(whole.was_cut);
    require_same(whole, example.written);
    for (const auto& [size, tiles] : example.cuts) {
      const TokenFile cut = read_payload(summarize(file.data(), size), file.data(), size);
      CHECK(cut.was_cut);
      CHECK(cut.tile_tokens == tiles);
    }
    for (size_t size = summary.header_bytes; size <= file.size(); ++size) require_two_step_read(file, size);
    // A summary of other bytes is refused rather than misread.
    CHECK_THROWS_WITH(read_payload(summary, file.data(), file.size() - 1), Catch::Contains("summarize()"));
  }
}

TEST_CASE("read_payload finds a corrupted payload as read() does") {
  std::vector<uint8_t> file = kWorkedExampleV2;
  file.back() ^= 0x01;
  const Summary summary = summarize(file.data(), file.size());
  std::string one_shot;
  try {
    read(file.data(), file.size());
  } catch (const FormatError& error) {
    one_shot = error.what();
  }
  REQUIRE_FALSE(one_shot.empty());
  CHECK_THROWS_WITH(read_payload(summary, file.data(), file.size()), one_shot);
}

TEST_CASE("a single-tile image has a header of 8 bytes (default coding) to 10 (any one-tile image)") {
  const FrequencyTables tables = skewed_tables(12, 4);
  for (int version : {2, 1}) {
    for (uint32_t side : {256u, 200u}) {
      for (auto entropy : {EntropyModel::kPositionTables, EntropyModel::kUniform}) {
        TokenFile image = make_image(side, side == 256 ? 256 : 131, 256, 0, 12, {16});
        image.header.version = version;
        image.header.entropy_model = entropy;
        const std::vector<uint8_t> file = write(image, tables);
        const Summary summary = summarize(file.data(), file.size());
        std::printf("v%d %ux%u, 1 tile, 16 tokens, %s: header %llu bytes, payload %llu, file %zu\n", version,
                    image.header.width, image.header.height,
                    entropy == EntropyModel::kUniform ? "uniform" : "position tables",
                    static_cast<unsigned long long>(summary.header_bytes),
                    static_cast<unsigned long long>(summary.payload_bytes), file.size());
        if (version == 1) {
          CHECK(summary.header_bytes >= 25);
        } else {
          // 8 bytes; + 2 for a size that is not the full tile (size_form 1); + 2 for a non-default coding.
          const uint64_t expected = 8 + (side != 256 ? 2 : 0) + (entropy == EntropyModel::kUniform ? 2 : 0);
          CHECK(summary.header_bytes == expected);
        }
        // Uniform: 192 bits of tokens and at most 2 flush bytes. (The skewed test tables make random tokens
        // dearer than uniform ones.)
        if (entropy == EntropyModel::kUniform) CHECK(summary.payload_bytes <= 16 * 12 / 8 + 2);
        require_same(read(file.data(), file.size(), tables), image);
      }
    }
  }
}

TEST_CASE("version 2 optional fields round-trip: colour, grey, coded size, zstd metadata, large sizes") {
  TokenFile image = make_image(700, 300, 256, 16, 12, {5, 1, 9, 7, 7, 2}, 3);
  image.header.colour = ColourSpace::kUnspecified;
  image.header.grey = true;
  std::vector<uint8_t> icc(3000);
  for (size_t i = 0; i < icc.size(); ++i) icc[i] = static_cast<uint8_t>(i % 7 == 0 ? i : 0x20);
  image.metadata.push_back({"ICCP", icc});
  image.metadata.push_back({"XMP ", {1, 2, 3}});
  std::vector<uint8_t> file = write(image);
  TokenFile back = read(file.data(), file.size());
  require_same(back, image);
  const Summary summary = summarize(file.data(), file.size());
  CHECK(summary.metadata_bytes < 1500);  // the profile was stored compressed
  CHECK(write(back) == file);            // one image, one encoding

  TokenFile scaled = make_image(1000, 700, 256, 0, 12, std::vector<int>(2, 4), 4);
  scaled.header.coded_width = 500;
  scaled.header.coded_height = 200;  // tiles over 500x200: 2x1
  file = write(scaled);
  back = read(file.data(), file.size());
  require_same(back, scaled);
  CHECK(back.header.tile_count() == 2);
  scaled.header.version = 1;
  CHECK_THROWS_WITH(write(scaled), Catch::Contains("coded size"));

  TokenFile grey_only = make_image(256, 256, 256, 0, 12, {3}, 5);
  grey_only.header.grey = true;
  file = write(grey_only);
  CHECK(summarize(file.data(), file.size()).header_bytes == 12);  // CODING (2) + ext_flags + colour
  require_same(read(file.data(), file.size()), grey_only);
}

TEST_CASE("images round-trip through write and read") {
  const int version = GENERATE(2, 1);
  INFO("version " << version);
  const auto in_version = [&](TokenFile image) {
    image.header.version = version;
    return image;
  };
  SECTION("uniform coding at every codebook size") {
    for (uint8_t bits = 1; bits <= 16; ++bits) {
      const TokenFile image = in_version(make_image(700, 300, 256, 16, bits, {5, 1, 256, 7, 7, 2}, bits));
      const std::vector<uint8_t> file = write(image);
      require_same(read(file.data(), file.size()), image);
    }
  }
  SECTION("equal counts use one count byte, metadata is carried") {
    TokenFile image = in_version(make_image(64, 64, 16, 0, 10, std::vector<int>(16, 40), 7));
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
    TokenFile image = in_version(make_image(40, 40, 32, 8, 6, {256, 3, 100, 1}, 3));
    const FrequencyTables tables = skewed_tables(6, 5);
    image.header.entropy_model = EntropyModel::kPositionTables;
    const std::vector<uint8_t> file = write(image, tables);
    require_same(read(file.data(), file.size(), tables), image);
    CHECK_THROWS_AS(read(file.data(), file.size()), FormatError);  // tables missing
  }
  SECTION("every size form and tile size") {
    for (uint32_t tile : {16u, 256u, 4096u}) {
      for (auto [width, height] : std::vector<std::pair<uint32_t, uint32_t>>{
               {tile, tile}, {1, 1}, {256, 256}, {256, 257}, {300, 20}, {65535, 3}}) {
        if (tile == 16 && width * height > 70000) continue;  // keep the tile count small
        Header header;
        header.width = width, header.height = height, header.tile_size = tile;
        const int tiles = static_cast<int>(header.tile_count());
        const TokenFile image =
            in_version(make_image(width, height, tile, 0, 4, std::vector<int>(tiles, 2), width));
        const std::vector<uint8_t> file = write(image);
        require_same(read(file.data(), file.size()), image);
      }
    }
  }
}

TEST_CASE("a file cut at any offset decodes to a growing token-major prefix") {
  const int version = GENERATE(2, 1);
  INFO("version " << version);
  TokenFile uniform = make_image(100, 60, 32, 4, 12, {9, 9, 8, 9, 9, 8, 3, 9}, 11);
  TokenFile tabled = make_image(100, 60, 32, 4, 5, {20, 1, 20, 20, 19, 20, 20, 20}, 12);
  TokenFile one_tile = make_image(256, 256, 256, 0, 12, {64}, 13);
  tabled.header.entropy_model = EntropyModel::kPositionTables;
  one_tile.header.entropy_model = EntropyModel::kPositionTables;
  one_tile.metadata.push_back({"EXIF", std::vector<uint8_t>(100, 7)});
  for (TokenFile* image : {&uniform, &tabled, &one_tile}) image->header.version = version;
  const FrequencyTables tables12 = skewed_tables(12, 64);
  const FrequencyTables tables5 = skewed_tables(5, 20);
  for (const TokenFile* image : {&uniform, &tabled, &one_tile}) {
    const FrequencyTables& tables = image->header.codebook_bits == 5 ? tables5 : tables12;
    const std::vector<uint8_t> file = write(*image, tables);
    const Summary summary = summarize(file.data(), file.size());
    const size_t total = total_tokens(*image);
    for (size_t cut = 0; cut < summary.header_bytes; ++cut) {
      CHECK_THROWS_AS(read(file.data(), cut, tables), FormatError);
    }
    size_t previous_prefix = 0;
    for (size_t cut = summary.header_bytes; cut <= file.size(); ++cut) {
      require_two_step_read(file, cut, tables);
      const TokenFile back = read(file.data(), cut, tables);
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
  const TokenFile image = make_image(64, 32, 32, 0, 8, {10, 3}, 5);
  const TokenFile cut = truncate_tokens(image, 4);
  CHECK(cut.tile_tokens[0] ==
        std::vector<uint16_t>(image.tile_tokens[0].begin(), image.tile_tokens[0].begin() + 4));
  CHECK(cut.tile_tokens[1] == image.tile_tokens[1]);
  CHECK_THROWS_AS(truncate_tokens(image, 0), FormatError);
}
