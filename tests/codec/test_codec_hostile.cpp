// The codec against hostile input (issue 17): overlaps the spec allows above tile / 2, stitching without a
// full-image float buffer, decode limits refused before allocation, files cut to nothing.
#include <catch2/catch.hpp>
#include <vector>

#include "codec/odp.h"
#include "codec/tiling.h"
#include "test_support.h"

using namespace odp::codec;
using odp::test::FakeTileModel;
using odp::test::synthetic_image;

TEST_CASE("a file whose overlap is above tile / 2 encodes and decodes", "[hostile]") {
  FakeTileModel model;
  const Image image = synthetic_image(90, 50);
  EncodeOptions options;
  options.tokens = 16;
  options.tile_overlap = 24;  // tile 32: was refused as a usage error (exit 1) although the spec allows it
  const EncodeResult encoded = encode(image, model, options);
  const FileInfo info = inspect(encoded.bytes.data(), encoded.bytes.size());
  CHECK(info.tile_overlap == 24);
  const Image decoded = decode(encoded.bytes.data(), encoded.bytes.size(), model);
  CHECK(decoded.width == 90);
  CHECK(decoded.height == 50);
  CHECK(psnr(image, decoded) > 15);
}

TEST_CASE("the stitcher holds only the rows still being blended, not a float copy of the image",
          "[hostile]") {
  const Image image = synthetic_image(70, 300);
  for (int overlap : {8, 24}) {
    const TileGrid grid = TileGrid::make(70, 300, 32, overlap);
    std::vector<float> tiles(static_cast<size_t>(grid.count()) * 3 * 32 * 32);
    extract_tiles(image.rgb.data(), grid, tiles.data());
    std::vector<uint8_t> back(image.rgb.size());
    TileStitcher stitcher(grid, back.data());
    size_t most = 0;
    for (int first = 0; first < grid.count(); first += 2) {
      const int n = std::min(2, grid.count() - first);
      stitcher.add(tiles.data() + static_cast<size_t>(first) * 3 * 32 * 32, first, n);
      most = std::max(most, stitcher.rows_in_progress());
    }
    CHECK(stitcher.rows_in_progress() == 0);
    stitcher.finish();
    CHECK(most <= 32);  // one tile's height, of the image's 300 rows
    CHECK(back == image.rgb);
  }
}

TEST_CASE("decode limits refuse a file before its tiles are decoded", "[hostile]") {
  FakeTileModel model;
  const Image image = synthetic_image(1280, 1280);  // 40 x 40 = 1600 tiles of 32 px without overlap
  EncodeOptions options;
  options.tokens = 1;
  options.tile_overlap = 0;
  const std::vector<uint8_t> file = encode(image, model, options).bytes;
  REQUIRE(inspect(file.data(), file.size()).tokens_per_tile.size() == 1600);
  CHECK(decode(file.data(), file.size(), model).width == 1280);
  // Cut to a few payload bytes: 1600 tiles could not have been coded in them (a decompression bomb).
  const FileInfo info = inspect(file.data(), file.size());
  const size_t header = info.header_bytes + info.metadata_bytes;
  try {
    decode(file.data(), header + 20, model);
    FAIL("1600 tiles in 20 payload bytes were decoded");
  } catch (const CodecError& error) {
    CHECK(error.kind() == ErrorKind::kBadInput);
    CHECK_THAT(error.what(), Catch::Contains("tiles per payload byte"));
  }
  DecodeOptions small;
  small.limits.max_pixels = 1000000;
  CHECK_THROWS_WITH(decode(file.data(), file.size(), model, small), Catch::Contains("1000000"));
  small = {};
  small.limits.max_tiles = 1000;
  CHECK_THROWS_WITH(decode(file.data(), file.size(), model, small), Catch::Contains("1000"));
  small = {};
  small.limits.max_input_bytes = file.size() - 1;
  CHECK_THROWS_WITH(decode(file.data(), file.size(), model, small), Catch::Contains("limit"));
}

TEST_CASE("truncating a file cut so short that no token survives says so (bad input)", "[hostile]") {
  FakeTileModel model;
  const Image image = synthetic_image(90, 70);
  EncodeOptions options;
  options.tokens = 4;
  const std::vector<uint8_t> file = encode(image, model, options).bytes;
  const FileInfo info = inspect(file.data(), file.size());
  TruncateOptions cut;
  cut.tokens = 2;
  try {
    truncate(file.data(), info.header_bytes + info.metadata_bytes, cut);
    FAIL("a file without a surviving token was truncated");
  } catch (const CodecError& error) {
    CHECK(error.kind() == ErrorKind::kBadInput);
    CHECK_THAT(error.what(), Catch::Contains("no token survives"));
  }
}

TEST_CASE("truncating a file cut so deep that some tile lost every token says so (bad input)", "[hostile]") {
  FakeTileModel model;
  const Image image = synthetic_image(200, 150);  // 7 x 5 tiles
  EncodeOptions options;
  options.tokens = 2;
  options.tile_overlap = 0;
  const std::vector<uint8_t> file = encode(image, model, options).bytes;
  const FileInfo info = inspect(file.data(), file.size());
  TruncateOptions cut;
  cut.tokens = 1;
  // Token-major: a payload cut to a few bytes keeps the first token of the first tiles only.
  const size_t keep = info.header_bytes + info.metadata_bytes + 3;
  try {
    truncate(file.data(), keep, cut);
    FAIL("a file whose tiles lost every token was truncated");
  } catch (const CodecError& error) {
    CHECK(error.kind() == ErrorKind::kBadInput);
    CHECK_THAT(error.what(), Catch::Contains("cut so short") && Catch::Contains("no token left"));
  }
}
