// Tile grid geometry, mirror padding, stitching with and without overlap, and the cross-seam filter.
#include <catch2/catch.hpp>

#include "codec/tiling.h"
#include "codec/image.h"
#include "test_support.h"

using namespace odp::codec;

TEST_CASE("grid follows the documented count formula", "[tiling]") {
  CHECK(TileGrid::make(10, 10, 256, 0).count() == 1);
  const TileGrid grid = TileGrid::make(600, 256, 256, 0);
  CHECK(grid.tiles_x == 3);
  CHECK(grid.tiles_y == 1);
  const TileGrid overlapped = TileGrid::make(600, 257, 256, 32);  // ceil((600-32)/224) = 3, ceil(225/224) = 2
  CHECK(overlapped.tiles_x == 3);
  CHECK(overlapped.tiles_y == 2);
  CHECK(overlapped.origin_x(2) == 448);
  CHECK_THROWS_AS(TileGrid::make(0, 5, 256, 0), CodecError);
  CHECK_THROWS_AS(TileGrid::make(5, 5, 256, 129), CodecError);
}

TEST_CASE("reflection does not repeat the edge", "[tiling]") {
  CHECK(reflect_index(-1, 5) == 1);
  CHECK(reflect_index(5, 5) == 3);
  CHECK(reflect_index(7, 5) == 1);
  CHECK(reflect_index(300, 1) == 0);
  CHECK(reflect_index(20, 3) == 0);
  for (int i = -50; i < 50; ++i) {
    CHECK(reflect_index(i, 4) >= 0);
    CHECK(reflect_index(i, 4) < 4);
  }
}

TEST_CASE("extract then stitch gives the image back, with and without overlap", "[tiling]") {
  const Image image = odp::test::synthetic_image(70, 45);
  for (int overlap : {0, 4, 16}) {
    const TileGrid grid = TileGrid::make(70, 45, 32, overlap);
    std::vector<float> tiles(static_cast<size_t>(grid.count()) * 3 * 32 * 32);
    extract_tiles(image.rgb.data(), grid, tiles.data());
    std::vector<uint8_t> back(image.rgb.size());
    stitch_tiles(tiles.data(), grid, back.data());
    CHECK(back == image.rgb);
    // Batches in any order give the same as all at once.
    std::vector<uint8_t> batched(image.rgb.size());
    TileStitcher stitcher(grid, batched.data());
    for (int first = grid.count() - 1; first >= 0; --first)
      stitcher.add(tiles.data() + static_cast<size_t>(first) * 3 * 32 * 32, first, 1);
    stitcher.finish();
    CHECK(batched == image.rgb);
  }
  // Padding mirrors: pixel (width) of the first tile row of a narrow image equals pixel (width - 2).
  const TileGrid narrow = TileGrid::make(5, 3, 8, 0);
  std::vector<float> tile(3 * 8 * 8);
  const Image small = odp::test::synthetic_image(5, 3);
  extract_tiles(small.rgb.data(), narrow, tile.data());
  CHECK(tile[5] == tile[3]);
  CHECK(tile[3] == Approx(small.rgb[3 * 3] / 255.0f));
}

TEST_CASE("blend weights sum to one across an overlap", "[tiling]") {
  const int tile = 32, overlap = 8;
  for (int k = 0; k < overlap; ++k)
    CHECK(blend_weight(tile - overlap + k, tile, overlap, true, true) + blend_weight(k, tile, overlap, true, true) ==
          Approx(1.0f));
  CHECK(blend_weight(3, tile, overlap, false, true) == 1.0f);
}

TEST_CASE("seam filter softens a small step and keeps a true edge", "[tiling]") {
  const TileGrid grid = TileGrid::make(64, 4, 32, 0);
  auto step_image = [&](int left, int right) {
    std::vector<uint8_t> rgb(64 * 4 * 3);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 64; ++x)
        for (int c = 0; c < 3; ++c) rgb[(y * 64 + x) * 3 + c] = static_cast<uint8_t>(x < 32 ? left : right);
    return rgb;
  };
  std::vector<uint8_t> soft = step_image(100, 118);
  smooth_seams(soft.data(), grid, 4);
  const int jump = soft[32 * 3] - soft[31 * 3];
  CHECK(jump <= 3);                  // the 18-level step is spread over 9 gaps
  CHECK(soft[27 * 3] == 100);        // untouched outside the radius
  CHECK(soft[36 * 3] == 118);
  std::vector<uint8_t> edge = step_image(0, 255);
  const std::vector<uint8_t> original = edge;
  smooth_seams(edge.data(), grid, 4);
  CHECK(edge == original);
}
