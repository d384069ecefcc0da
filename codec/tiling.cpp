// Tile geometry, tile extraction with mirror padding, blended stitching and the cross-seam filter.
#include "codec/tiling.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "codec/image.h"

namespace odp::codec {
namespace {

int tiles_along(int length, int tile, int overlap) {
  if (length <= tile) return 1;
  const int step = tile - overlap;
  return (length - overlap + step - 1) / step;
}

uint8_t to_byte(float value) {
  return static_cast<uint8_t>(std::lround(std::clamp(value, 0.0f, 1.0f) * 255.0f));
}

// Spreads the excess step between line[seam - 1] and line[seam] over `radius` samples each side.
// line is strided (stride bytes apart for a column); count samples in all.
void smooth_one_seam(uint8_t* line, ptrdiff_t stride, int count, int seam, int radius) {
  const int reach = std::min({radius, seam, count - seam});
  if (reach < 1) return;
  auto at = [&](int i) -> uint8_t& { return line[i * stride]; };
  float step = float(at(seam)) - float(at(seam - 1));
  if (reach >= 2) step -= 0.5f * ((float(at(seam - 1)) - float(at(seam - 2))) + (float(at(seam + 1)) - float(at(seam))));
  const float strength = std::clamp((64.0f - std::fabs(step)) / 40.0f, 0.0f, 1.0f);
  if (strength == 0.0f) return;
  const float share = strength * step / float(2 * reach + 1);
  for (int k = 0; k < reach; ++k) {
    const float shift = share * float(reach - k);
    at(seam - 1 - k) = static_cast<uint8_t>(std::clamp(std::lround(at(seam - 1 - k) + shift), 0L, 255L));
    at(seam + k) = static_cast<uint8_t>(std::clamp(std::lround(at(seam + k) - shift), 0L, 255L));
  }
}

}  // namespace

TileGrid TileGrid::make(int width, int height, int tile, int overlap) {
  if (width < 1 || height < 1 || tile < 1 || overlap < 0 || overlap > tile / 2)
    throw CodecError("invalid tile grid: image " + std::to_string(width) + "x" + std::to_string(height) + ", tile " +
                         std::to_string(tile) + ", overlap " + std::to_string(overlap) + " (overlap must be 0..tile/2)",
                     ErrorKind::kUsage);
  TileGrid grid;
  grid.width = width;
  grid.height = height;
  grid.tile = tile;
  grid.overlap = overlap;
  grid.tiles_x = tiles_along(width, tile, overlap);
  grid.tiles_y = tiles_along(height, tile, overlap);
  return grid;
}

int reflect_index(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * n - 2;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

void extract_tiles(const uint8_t* rgb, const TileGrid& grid, int first, int count, float* out) {
  const int t = grid.tile;
  const size_t plane = static_cast<size_t>(t) * t;
  std::vector<int> columns(t);
  for (int index = 0; index < count; ++index) {
    const int tile_index = first + index;
    const int origin_x = grid.origin_x(tile_index % grid.tiles_x), origin_y = grid.origin_y(tile_index / grid.tiles_x);
    for (int x = 0; x < t; ++x) columns[x] = reflect_index(origin_x + x, grid.width);
    float* tile = out + index * 3 * plane;
    for (int y = 0; y < t; ++y) {
      const uint8_t* row = rgb + static_cast<size_t>(reflect_index(origin_y + y, grid.height)) * grid.width * 3;
      for (int x = 0; x < t; ++x)
        for (int c = 0; c < 3; ++c) tile[c * plane + static_cast<size_t>(y) * t + x] = row[columns[x] * 3 + c] / 255.0f;
    }
  }
}

void extract_tiles(const uint8_t* rgb, const TileGrid& grid, float* out) { extract_tiles(rgb, grid, 0, grid.count(), out); }

float blend_weight(int p, int tile, int overlap, bool has_low, bool has_high) {
  if (overlap <= 0) return 1.0f;
  if (has_low && p < overlap) return (p + 0.5f) / overlap;
  if (has_high && p >= tile - overlap) return (tile - p - 0.5f) / overlap;
  return 1.0f;
}

TileStitcher::TileStitcher(const TileGrid& grid, uint8_t* rgb) : grid_(grid), rgb_(rgb) {
  if (grid.overlap > 0) sum_.assign(static_cast<size_t>(grid.width) * grid.height * 3, 0.0f);
}

void TileStitcher::add(const float* tiles, int first, int count) {
  const int t = grid_.tile;
  const size_t plane = static_cast<size_t>(t) * t;
  std::vector<float> column_weight(t);
  for (int index = 0; index < count; ++index) {
    const int tx = (first + index) % grid_.tiles_x, ty = (first + index) / grid_.tiles_x;
    const int origin_x = grid_.origin_x(tx), origin_y = grid_.origin_y(ty);
    const int visible_w = std::min(t, grid_.width - origin_x), visible_h = std::min(t, grid_.height - origin_y);
    for (int x = 0; x < visible_w; ++x) column_weight[x] = blend_weight(x, t, grid_.overlap, tx > 0, tx + 1 < grid_.tiles_x);
    const float* tile = tiles + index * 3 * plane;
    for (int y = 0; y < visible_h; ++y) {
      const float row_weight = blend_weight(y, t, grid_.overlap, ty > 0, ty + 1 < grid_.tiles_y);
      const size_t row_start = (static_cast<size_t>(origin_y + y) * grid_.width + origin_x) * 3;
      for (int x = 0; x < visible_w; ++x) {
        for (int c = 0; c < 3; ++c) {
          const float value = std::clamp(tile[c * plane + static_cast<size_t>(y) * t + x], 0.0f, 1.0f);
          if (sum_.empty()) {
            rgb_[row_start + x * 3 + c] = to_byte(value);
          } else {
            sum_[row_start + x * 3 + c] += value * row_weight * column_weight[x];
          }
        }
      }
    }
  }
}

void TileStitcher::finish() {
  // The blend weights of the tiles covering a pixel sum to 1, so the weighted sum is already the mean.
  for (size_t i = 0; i < sum_.size(); ++i) rgb_[i] = to_byte(sum_[i]);
}

void stitch_tiles(const float* tiles, const TileGrid& grid, uint8_t* rgb) {
  TileStitcher stitcher(grid, rgb);
  stitcher.add(tiles, 0, grid.count());
  stitcher.finish();
}

void smooth_seams(uint8_t* rgb, const TileGrid& grid, int radius) {
  if (radius <= 0 || grid.overlap > 0) return;
  const ptrdiff_t row_stride = static_cast<ptrdiff_t>(grid.width) * 3;
  for (int tx = 1; tx < grid.tiles_x; ++tx)
    for (int y = 0; y < grid.height; ++y)
      for (int c = 0; c < 3; ++c) smooth_one_seam(rgb + y * row_stride + c, 3, grid.width, grid.origin_x(tx), radius);
  for (int ty = 1; ty < grid.tiles_y; ++ty)
    for (int x = 0; x < grid.width; ++x)
      for (int c = 0; c < 3; ++c) smooth_one_seam(rgb + x * 3 + c, row_stride, grid.height, grid.origin_y(ty), radius);
}

}  // namespace odp::codec
