// Flat tiles (spec 5.4, ext_flags bit 3): the worked example 13.4 byte for byte, round trips, truncation and
// cut files keep them, and every malformed form is refused naming its field.
#include <catch2/catch.hpp>

#include "format_test_util.h"

using namespace odp::format;
using namespace odp::format::test;

namespace {

// 13.4: the image of 13.2 without metadata, tile 1 flat (200, 30, 40) and cut to its one token.
const std::vector<uint8_t> kFlatExample = {0x4F, 0x82, 0x3D, 0x78, 0x56, 0x04, 0x03, 0x13, 0x0B, 0x04, 0x08,
                                           0x01, 0x01, 0xC8, 0x1E, 0x28, 0x02, 0x00, 0x6E, 0x34, 0x14, 0xF7};

TokenFile flat_example_image() {
  TokenFile image = worked_example_image(2);
  image.metadata.clear();
  image.header.flat_tiles = {{1, {200, 30, 40}}};
  image.tile_tokens[1] = {4};
  return image;
}

bool same_flat_tiles(const std::vector<FlatTile>& a, const std::vector<FlatTile>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].tile != b[i].tile || a[i].rgb[0] != b[i].rgb[0] || a[i].rgb[1] != b[i].rgb[1] ||
        a[i].rgb[2] != b[i].rgb[2])
      return false;
  return true;
}

// The example's bytes with the flat-tile field (offsets 11..15) replaced, the check re-computed.
std::vector<uint8_t> with_field(const std::vector<uint8_t>& field) {
  std::vector<uint8_t> bytes(kFlatExample.begin(), kFlatExample.begin() + 11);
  bytes.insert(bytes.end(), field.begin(), field.end());
  bytes.insert(bytes.end(), kFlatExample.begin() + 16, kFlatExample.begin() + 18);  // token counts
  const std::vector<uint8_t> payload(kFlatExample.begin() + 20, kFlatExample.end());
  const uint16_t check =
      wire::crc16_of(payload.data(), payload.size(), wire::crc16_of(bytes.data(), bytes.size()));
  wire::put_u16le(bytes, check);
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

}  // namespace

TEST_CASE("the spec's flat-tile example (13.4) is produced and read byte for byte") {
  const std::vector<uint8_t> written = write(flat_example_image());
  REQUIRE(written == kFlatExample);
  CHECK(with_field({0x01, 0x01, 0xC8, 0x1E, 0x28}) == kFlatExample);
  const TokenFile back = read(written.data(), written.size());
  CHECK(same_flat_tiles(back.header.flat_tiles, flat_example_image().header.flat_tiles));
  CHECK(back.tile_tokens == flat_example_image().tile_tokens);
  CHECK(summarize(written.data(), written.size()).header_bytes == 20);
}

TEST_CASE("flat tiles survive truncation and cut files; version 1 cannot hold them") {
  TokenFile image = make_image(600, 300, 256, 32, 12, {9, 9, 9, 9, 9, 9});
  image.header.flat_tiles = {{0, {1, 2, 3}}, {4, {255, 0, 128}}, {5, {7, 7, 7}}};
  const std::vector<uint8_t> bytes = write(image);
  const TokenFile back = read(bytes.data(), bytes.size());
  CHECK(same_flat_tiles(back.header.flat_tiles, image.header.flat_tiles));
  const std::vector<uint8_t> cut_by_tokens = write(truncate_tokens(back, 2));
  CHECK(same_flat_tiles(read(cut_by_tokens.data(), cut_by_tokens.size()).header.flat_tiles,
                        image.header.flat_tiles));
  const std::vector<uint8_t> cut_by_size = truncate_to_bytes(back, bytes.size() / 2);
  CHECK(same_flat_tiles(read(cut_by_size.data(), cut_by_size.size()).header.flat_tiles,
                        image.header.flat_tiles));
  const size_t header = summarize(bytes.data(), bytes.size()).header_bytes;
  const TokenFile cut = read(bytes.data(), header + 3);
  CHECK(cut.was_cut);
  CHECK(same_flat_tiles(cut.header.flat_tiles, image.header.flat_tiles));
  image.header.version = 1;
  CHECK_THROWS_WITH(write(image), Catch::Contains("flat tiles"));
}

TEST_CASE("malformed flat-tile fields are refused naming the field") {
  const std::vector<uint8_t> tile_zero = with_field({0x01, 0x00, 0xC8, 0x1E, 0x28});
  CHECK(read(tile_zero.data(), tile_zero.size()).header.flat_tiles.at(0).tile == 0);
  auto refused = [](const std::vector<uint8_t>& field, const std::string& message) {
    const std::vector<uint8_t> bytes = with_field(field);
    CHECK_THROWS_WITH(read(bytes.data(), bytes.size()), Catch::Contains(message));
  };
  refused({0x00}, "field 'flat_tile_count' = 0");  // none: bit clear
  refused({0x03, 0x00, 1, 2, 3, 0x00, 1, 2, 3, 0x00, 1, 2, 3}, "field 'flat_tile_count' = 3");  // > 2 tiles
  refused({0x01, 0x02, 1, 2, 3}, "field 'flat_tile_gap'");                                      // tile 2 of 2
  refused({0x02, 0x01, 1, 2, 3, 0x00, 1, 2, 3}, "field 'flat_tile_gap'");                 // tile 1 then 2
  refused({0x01, 0x80, 0x00, 1, 2, 3}, "flat_tile_gap");                                  // not minimal
  CHECK_THROWS_WITH(read(kFlatExample.data(), 14), Catch::Contains("flat_tile_colour"));  // the file ends
  // The writer refuses what the reader would: unordered or out-of-grid entries.
  TokenFile image = flat_example_image();
  image.header.flat_tiles = {{1, {0, 0, 0}}, {0, {0, 0, 0}}};
  CHECK_THROWS_WITH(write(image), Catch::Contains("flat_tiles"));
  image.header.flat_tiles = {{2, {0, 0, 0}}};
  CHECK_THROWS_WITH(write(image), Catch::Contains("flat_tiles"));
}
