// Tile grid geometry, mirror padding, stitching with and without overlap, and the seam filters.
#include <algorithm>
#include <catch2/catch.hpp>

#include "base/image.h"
#include "codec/odp.h"
#include "codec/tiling.h"
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
  CHECK_THROWS_AS(TileGrid::make(5, 5, 256, 256), CodecError);  // the spec allows 0..tile - 1
  CHECK(TileGrid::make(600, 5, 256, 255).tiles_x == 345);
}

TEST_CASE("the default overlap is the widest that costs no tile over the minimum", "[tiling]") {
  CHECK(choose_overlap(256, 200, 256, 32) == 0);  // one tile: no seams
  // 1024x680: 5x3 tiles at overlap 32; 5 tiles span 1024 up to overlap 64, 3 tiles span 680 up to 44.
  CHECK(choose_overlap(1024, 680, 256, 32) == 44);
  CHECK(choose_overlap(768, 512, 256, 32) == 85);   // 4x3 tiles: 4 span 768 up to overlap 85
  CHECK(choose_overlap(257, 256, 256, 32) == 128);  // two tiles across, one down: as wide as allowed
  for (int width = 1; width <= 1400; width += 37)
    for (int height = 1; height <= 900; height += 53) {
      const int overlap = choose_overlap(width, height, 256, 32);
      const TileGrid at_min = TileGrid::make(width, height, 256, 32),
                     chosen = TileGrid::make(width, height, 256, overlap);
      if (at_min.count() == 1) {
        CHECK(overlap == 0);
        continue;
      }
      CHECK(overlap >= 32);
      CHECK(chosen.count() == at_min.count());
      if (overlap < 128) CHECK(TileGrid::make(width, height, 256, overlap + 1).count() > at_min.count());
    }
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
  // 17..31: above tile / 2, up to tile - 1 as the spec allows (three tiles share pixels).
  for (int overlap : {0, 4, 16, 17, 24, 31}) {
    INFO("overlap " << overlap);
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
  CHECK_THROWS_AS(TileGrid::make(70, 45, 32, 32), CodecError);  // the tile itself: no grid
  // Padding mirrors: pixel (width) of the first tile row of a narrow image equals pixel (width - 2).
  const TileGrid narrow = TileGrid::make(5, 3, 8, 0);
  std::vector<float> tile(3 * 8 * 8);
  const Image small = odp::test::synthetic_image(5, 3);
  extract_tiles(small.rgb.data(), narrow, tile.data());
  CHECK(tile[5] == tile[3]);
  CHECK(tile[3] == Approx(small.rgb[3 * 3] / 255.0f));
}

TEST_CASE("byte tiles hold the float tiles' pixels; stitching bytes without overlap writes what floats write",
          "[tiling]") {
  const Image image = odp::test::synthetic_image(70, 45);
  for (int overlap : {0, 8}) {
    const TileGrid grid = TileGrid::make(70, 45, 32, overlap);
    const size_t values = static_cast<size_t>(grid.count()) * 3 * 32 * 32;
    std::vector<float> floats(values);
    std::vector<uint8_t> bytes(values);
    extract_tiles(image.rgb.data(), grid, floats.data());
    // A range that starts inside the grid, as the codec's batches do.
    const int first = 1, count = grid.count() - 1;
    extract_tiles(image.rgb.data(), grid, first, count,
                  bytes.data() + static_cast<size_t>(first) * 3 * 32 * 32);
    extract_tiles(image.rgb.data(), grid, 0, first, bytes.data());
    bool same = true;
    for (size_t i = 0; i < values; ++i) same = same && floats[i] == odp::model::unit_from_byte(bytes[i]);
    CHECK(same);
  }
  // Decoder-like floats (off the byte grid, some outside [0,1]) rounded to bytes, then stitched without
  // overlap.
  const TileGrid grid = TileGrid::make(70, 45, 32, 0);
  std::vector<float> decoded(static_cast<size_t>(grid.count()) * 3 * 32 * 32);
  for (size_t i = 0; i < decoded.size(); ++i)
    decoded[i] = static_cast<float>((i * 7919) % 10007) / 9000.0f - 0.05f;
  std::vector<uint8_t> rounded(decoded.size());
  std::transform(decoded.begin(), decoded.end(), rounded.begin(), odp::model::byte_from_unit);
  std::vector<uint8_t> from_floats(image.rgb.size()), from_bytes(image.rgb.size());
  stitch_tiles(decoded.data(), grid, from_floats.data());
  TileStitcher stitcher(grid, from_bytes.data());
  stitcher.add(rounded.data(), 0, grid.count());
  stitcher.finish();
  CHECK(from_bytes == from_floats);
  // With overlap the bytes are blended as byte / 255: an image's own pixels still come back exactly.
  const TileGrid overlapped = TileGrid::make(70, 45, 32, 8);
  std::vector<uint8_t> tiles(static_cast<size_t>(overlapped.count()) * 3 * 32 * 32), back(image.rgb.size());
  extract_tiles(image.rgb.data(), overlapped, 0, overlapped.count(), tiles.data());
  TileStitcher blended(overlapped, back.data());
  blended.add(tiles.data(), 0, overlapped.count());
  blended.finish();
  CHECK(back == image.rgb);
}

TEST_CASE("blend weights sum to one across an overlap", "[tiling]") {
  const int tile = 32, overlap = 8;
  for (int k = 0; k < overlap; ++k)
    CHECK(blend_weight(tile - overlap + k, tile, overlap, true, true) +
              blend_weight(k, tile, overlap, true, true) ==
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
  CHECK(jump <= 3);            // the 18-level step is spread over 9 gaps
  CHECK(soft[27 * 3] == 100);  // untouched outside the radius
  CHECK(soft[36 * 3] == 118);
  std::vector<uint8_t> edge = step_image(0, 255);
  const std::vector<uint8_t> original = edge;
  smooth_seams(edge.data(), grid, 4);
  CHECK(edge == original);
}

namespace {

// A smooth gradient per channel plus, for each tile of `tile` px, a constant colour offset per channel (what
// independently decoded tiles look like).
std::vector<uint8_t> cast_image(int width, int height, int tile) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        const int cast = ((x / tile + 2 * (y / tile) + c) % 3 - 1) * 8;  // -8, 0 or +8 levels
        rgb[(static_cast<size_t>(y) * width + x) * 3 + c] =
            static_cast<uint8_t>(60 + x / 4 + y / 3 + 10 * c + cast);
      }
  return rgb;
}

// Mean absolute step in excess of the local gradient across the seam at `seam` (a column when vertical, else
// a row), over positions along it from `from` to `to` (exclusive).
double mean_seam_step(const std::vector<uint8_t>& rgb, int width, int seam, bool vertical, int from, int to) {
  double total = 0.0;
  for (int i = from; i < to; ++i)
    for (int c = 0; c < 3; ++c) {
      auto at = [&](int k) { return double(rgb[(vertical ? i * width + k : k * width + i) * 3 + c]); };
      total += std::fabs((at(seam) - at(seam - 1)) -
                         0.5 * ((at(seam - 1) - at(seam - 2)) + (at(seam + 1) - at(seam))));
    }
  return total / (3.0 * (to - from));
}

}  // namespace

TEST_CASE("cast correction removes per-tile colour offsets and leaves the interior alone", "[tiling]") {
  const int size = 256, tile = 128, radius = 48;
  const TileGrid grid = TileGrid::make(size, size, tile, 0);
  const std::vector<uint8_t> original = cast_image(size, size, tile);
  std::vector<uint8_t> corrected = original;
  correct_seam_casts(corrected.data(), grid, radius);
  // Away from the corner where the seams cross (the along-seam smoothing mixes the two tiles' casts there).
  for (bool vertical : {true, false})
    for (int from : {0, 176}) {
      const double before = mean_seam_step(original, size, tile, vertical, from, from + 80);
      CHECK(before > 7.0);
      CHECK(mean_seam_step(corrected, size, tile, vertical, from, from + 80) < 0.2 * before);
    }
  // A tile's centre is 64 px from every seam, beyond the radius.
  for (int c = 0; c < 3; ++c)
    CHECK(corrected[(64 * size + 64) * 3 + c] == original[(64 * size + 64) * 3 + c]);
  for (int c = 0; c < 3; ++c)
    CHECK(corrected[(192 * size + 192) * 3 + c] == original[(192 * size + 192) * 3 + c]);
}

TEST_CASE("cast correction leaves a single tile and overlapped grids untouched", "[tiling]") {
  std::vector<uint8_t> single = cast_image(32, 32, 32);
  const std::vector<uint8_t> original = single;
  correct_seam_casts(single.data(), TileGrid::make(32, 32, 32, 0), 16);
  CHECK(single == original);
  std::vector<uint8_t> overlapped = cast_image(96, 64, 32);
  const std::vector<uint8_t> overlapped_original = overlapped;
  correct_seam_casts(overlapped.data(), TileGrid::make(96, 64, 32, 8), 16);
  CHECK(overlapped == overlapped_original);
}

TEST_CASE("cast correction keeps a sharp edge that crosses a seam", "[tiling]") {
  const int width = 128, height = 64;
  const TileGrid grid = TileGrid::make(width, height, 64, 0);
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height;
       ++y)  // a 40 -> 200 edge at row 30 runs right across the vertical seam at x = 64
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        rgb[(y * width + x) * 3 + c] = static_cast<uint8_t>((y < 30 ? 40 : 200) + (x < 64 ? 0 : 6));
  correct_seam_casts(rgb.data(), grid, 32);
  for (int x : {0, 60, 63, 64, 67, 127}) {
    CHECK(rgb[(29 * width + x) * 3] < 50);   // still dark just above the edge ...
    CHECK(rgb[(30 * width + x) * 3] > 190);  // ... and bright just below it
  }
  CHECK(std::abs(int(rgb[(10 * width + 64) * 3]) - int(rgb[(10 * width + 63) * 3])) <=
        1);  // the cast is gone
}
