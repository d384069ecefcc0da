// Tile geometry, tile extraction with mirror padding, blended stitching and the seam filters.
#include "codec/tiling.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "model/tile_model.h"

namespace odp::codec {
namespace {

int tiles_along(int length, int tile, int overlap) {
  return static_cast<int>(format::tiles_along(length, tile, overlap));
}

uint8_t to_byte(float value) { return model::byte_from_unit(value); }

float unit_value(float value) { return std::clamp(value, 0.0f, 1.0f); }
float unit_value(uint8_t value) { return model::unit_from_byte(value); }

// Spreads the excess step between line[seam - 1] and line[seam] over `radius` samples each side.
// line is strided (stride bytes apart for a column); count samples in all.
void smooth_one_seam(uint8_t* line, ptrdiff_t stride, int count, int seam, int radius) {
  const int reach = std::min({radius, seam, count - seam});
  if (reach < 1) return;
  auto at = [&](int i) -> uint8_t& { return line[i * stride]; };
  float step = float(at(seam)) - float(at(seam - 1));
  if (reach >= 2)
    step -= 0.5f * ((float(at(seam - 1)) - float(at(seam - 2))) + (float(at(seam + 1)) - float(at(seam))));
  const float strength = std::clamp((64.0f - std::fabs(step)) / 40.0f, 0.0f, 1.0f);
  if (strength == 0.0f) return;
  const float share = strength * step / float(2 * reach + 1);
  for (int k = 0; k < reach; ++k) {
    const float shift = share * float(reach - k);
    at(seam - 1 - k) = static_cast<uint8_t>(std::clamp(std::lround(at(seam - 1 - k) + shift), 0L, 255L));
    at(seam + k) = static_cast<uint8_t>(std::clamp(std::lround(at(seam + k) - shift), 0L, 255L));
  }
}

// Low-frequency seam correction. Tiles are decoded independently, so neighbours often differ by a smooth
// colour cast (tens of levels in a flat sky) rather than by a sharp step; evening that out needs a wide,
// gently fading correction that follows only the slow variation of the step along the seam.
// Strip of pixels averaged on each side of a seam (and again just beyond it, for the local gradient):
// wide enough to average away pixel noise, narrow enough to stay within the tile's own colour.
constexpr int kCastStrip = 6;
// Gaussian sigma (pixels) with which the step is smoothed along the seam: real edges that cross the seam
// are not followed row by row, while a cast that changes over a tile (e.g. sky above, roof below) is.
constexpr float kCastSigma = 16.0f;
// Rows whose strips are textured (mean |neighbour difference| around this many levels) are trusted less:
// there the measured step is dominated by image content (a diagonal edge), not by the tiles' casts.
constexpr float kCastTexture = 4.0f;
// Rows whose step is large against this many levels are trusted less too: a cast is a few to ~15 levels,
// while real content that happens to differ across the seam (an edge along it) gives larger steps.
constexpr float kCastStepScale = 12.0f;
// Weight of a prior "no correction" per row: where every row is distrusted (busy texture) the correction
// shrinks towards zero, since a wrong correction there costs PSNR and a cast there is hard to see anyway.
constexpr float kCastPrior = 0.05f;
// The decoder darkens or brightens the outermost pixel of a tile (a thin line along the seam); that rim is
// measured separately and pulled onto the tile's interior, so it neither biases the step nor stays visible.
constexpr int kCastRim = 1;
// Gradients (levels per pixel) used to extrapolate a tile's interior to the seam are clamped to this: smooth
// ramps (sky) are far below it, and steeper "gradients" are texture whose extrapolation would only add noise.
constexpr float kCastMaxSlope = 1.0f;
// A single row's step is clamped to this many levels so one strong edge cannot swamp its neighbours.
constexpr float kCastRowClamp = 64.0f;
// Smoothed steps from kCastFadeStart to kCastFadeEnd levels fade to no correction: such a step running
// along the whole seam is more likely a true edge that happens to lie on the tile border than a cast.
constexpr float kCastFadeStart = 64.0f, kCastFadeEnd = 112.0f;

// One seam in a float image (0..255 units, 3 channels interleaved): `across` steps perpendicular to the
// seam (count_across samples, the seam between seam - 1 and seam), `along` steps along it (count_along).
// Three low-frequency profiles are measured per channel: the step between the two tiles and each tile's
// rim (its kCastRim outermost pixels) against its own interior. The rims are pulled onto the interiors and
// the step is removed half on each side, fading with a raised cosine to zero at `radius`.
void correct_one_seam_cast(float* image, ptrdiff_t across, ptrdiff_t along, int count_across, int count_along,
                           int seam, int radius) {
  const int strip = std::min({kCastStrip, (seam - kCastRim) / 2, (count_across - seam - kCastRim) / 2});
  const int reach_low = std::min(radius, seam), reach_high = std::min(radius, count_across - seam);
  if (strip < 2 || radius < 1) return;
  // Per row and channel: step, low rim, high rim (kProfiles values); per row: the trust weight.
  constexpr int kProfiles = 3;
  std::vector<float> raw(static_cast<size_t>(count_along) * 3 * kProfiles), weight(count_along);
  const float rim_offset = 1.0f + 0.5f * float(strip),
              seam_offset = 0.5f * float(kCastRim + 1) + 0.5f * float(strip);
  for (int i = 0; i < count_along; ++i) {
    const float* row = image + i * along;
    const float* next = i + 1 < count_along ? row + along : row;  // along-seam texture; none past the end
    float texture = 0.0f, largest = 0.0f;
    for (int c = 0; c < 3; ++c) {
      auto mean = [&](int from, int count) {  // mean of `count` samples starting at across index `from`
        float sum = 0.0f;
        for (int k = from; k < from + count; ++k) sum += row[k * across + c];
        return sum / float(count);
      };
      // Each tile's interior next to its rim, extrapolated along its own gradient (so that a smooth ramp
      // across the seam is not mistaken for a step) to the rim's centre and to the seam.
      const float near_low = mean(seam - kCastRim - strip, strip),
                  far_low = mean(seam - kCastRim - 2 * strip, strip);
      const float near_high = mean(seam + kCastRim, strip), far_high = mean(seam + kCastRim + strip, strip);
      const float slope_low = std::clamp((near_low - far_low) / float(strip), -kCastMaxSlope, kCastMaxSlope);
      const float slope_high =
          std::clamp((far_high - near_high) / float(strip), -kCastMaxSlope, kCastMaxSlope);
      float* out = &raw[(static_cast<size_t>(i) * 3 + c) * kProfiles];
      const float step = (near_high - slope_high * seam_offset) - (near_low + slope_low * seam_offset);
      out[0] = std::clamp(step, -kCastRowClamp, kCastRowClamp);
      out[1] = mean(seam - kCastRim, kCastRim) - (near_low + slope_low * rim_offset);
      out[2] = mean(seam, kCastRim) - (near_high - slope_high * rim_offset);
      largest = std::max(largest, std::fabs(step));
      for (int k = seam - kCastRim - 2 * strip; k < seam + kCastRim + 2 * strip; ++k) {
        if (k != seam - 1 && k + 1 < seam + kCastRim + 2 * strip)
          texture += std::fabs(row[(k + 1) * across + c] - row[k * across + c]);
        texture += std::fabs(next[k * across + c] - row[k * across + c]);
      }
    }
    texture /= float(3 * (2 * (2 * kCastRim + 4 * strip) - 2)) * kCastTexture;
    largest /= kCastStepScale;
    weight[i] = 1.0f / ((1.0f + texture * texture) * (1.0f + largest * largest));
  }
  const int half = static_cast<int>(std::ceil(3.0f * kCastSigma));
  std::vector<float> gauss(2 * half + 1), fade(std::max(reach_low, reach_high));
  for (int j = -half; j <= half; ++j)
    gauss[j + half] = std::exp(-0.5f * float(j * j) / (kCastSigma * kCastSigma));
  for (size_t k = 0; k < fade.size(); ++k)
    fade[k] = 0.25f * (1.0f + std::cos(3.14159265f * (float(k) + 0.5f) / float(radius)));  // half the step
  for (int i = 0; i < count_along; ++i) {
    float* row = image + i * along;
    for (int c = 0; c < 3; ++c) {
      float sum[kProfiles] = {}, total = 1e-6f;
      for (int j = std::max(-half, -i); j <= std::min(half, count_along - 1 - i); ++j) {
        const float w = gauss[j + half] * weight[i + j];
        for (int p = 0; p < kProfiles; ++p)
          sum[p] += w * raw[(static_cast<size_t>(i + j) * 3 + c) * kProfiles + p];
        // Rows nobody trusts leave the profiles near zero instead of at their (noisy) mean.
        total += w + kCastPrior * gauss[j + half];
      }
      float step = sum[0] / total;
      step *= std::clamp((kCastFadeEnd - std::fabs(step)) / (kCastFadeEnd - kCastFadeStart), 0.0f, 1.0f);
      for (int k = 0; k < reach_low; ++k) row[(seam - 1 - k) * across + c] += step * fade[k];
      for (int k = 0; k < reach_high; ++k) row[(seam + k) * across + c] -= step * fade[k];
      for (int k = 0; k < kCastRim; ++k) {
        row[(seam - 1 - k) * across + c] -= sum[1] / total;
        row[(seam + k) * across + c] -= sum[2] / total;
      }
    }
  }
}

}  // namespace

int choose_overlap(int width, int height, int tile, int min_overlap) {
  if (width <= tile && height <= tile) return 0;
  const int base_x = tiles_along(width, tile, min_overlap), base_y = tiles_along(height, tile, min_overlap);
  for (int overlap = tile / 2; overlap > min_overlap; --overlap)
    if (tiles_along(width, tile, overlap) == base_x && tiles_along(height, tile, overlap) == base_y)
      return overlap;
  return min_overlap;
}

int reflect_index(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * n - 2;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

namespace {
// Tile pixels as floats (byte / 255) or as the bytes themselves.
template <typename Pixel>
void extract_tile_range(const uint8_t* rgb, const TileGrid& grid, int first, int count, Pixel* out) {
  const int t = grid.tile;
  const size_t plane = static_cast<size_t>(t) * t;
  std::vector<int> columns(t);
  for (int index = 0; index < count; ++index) {
    const int tile_index = first + index;
    const int origin_x = grid.origin_x(tile_index % grid.tiles_x),
              origin_y = grid.origin_y(tile_index / grid.tiles_x);
    for (int x = 0; x < t; ++x) columns[x] = reflect_index(origin_x + x, grid.width);
    Pixel* tile = out + index * 3 * plane;
    for (int y = 0; y < t; ++y) {
      const uint8_t* row =
          rgb + static_cast<size_t>(reflect_index(origin_y + y, grid.height)) * grid.width * 3;
      for (int x = 0; x < t; ++x)
        for (int c = 0; c < 3; ++c) {
          const uint8_t byte = row[columns[x] * 3 + c];
          if constexpr (std::is_same_v<Pixel, float>) {
            tile[c * plane + static_cast<size_t>(y) * t + x] = model::unit_from_byte(byte);
          } else {
            tile[c * plane + static_cast<size_t>(y) * t + x] = byte;
          }
        }
    }
  }
}
}  // namespace

void extract_tiles(const uint8_t* rgb, const TileGrid& grid, int first, int count, float* out) {
  extract_tile_range(rgb, grid, first, count, out);
}

void extract_tiles(const uint8_t* rgb, const TileGrid& grid, int first, int count, uint8_t* out) {
  extract_tile_range(rgb, grid, first, count, out);
}

void extract_tiles(const uint8_t* rgb, const TileGrid& grid, float* out) {
  extract_tiles(rgb, grid, 0, grid.count(), out);
}

float blend_weight(int p, int tile, int overlap, bool has_low, bool has_high) {
  if (overlap <= 0) return 1.0f;
  if (has_low && p < overlap) return (p + 0.5f) / overlap;
  if (has_high && p >= tile - overlap) return (tile - p - 0.5f) / overlap;
  return 1.0f;
}

namespace {
// Sum over the tiles covering each position along an axis of their blend weights.
std::vector<float> blend_weight_sums(int length, int tiles, int tile, int overlap) {
  std::vector<float> sums(length, 0.0f);
  for (int i = 0; i < tiles; ++i) {
    const int origin = i * (tile - overlap);
    for (int p = 0; p < tile && origin + p < length; ++p)
      sums[origin + p] += blend_weight(p, tile, overlap, i > 0, i + 1 < tiles);
  }
  for (float& sum : sums) sum = 1.0f / sum;
  return sums;
}
}  // namespace

TileStitcher::TileStitcher(const TileGrid& grid, uint8_t* rgb) : grid_(grid), rgb_(rgb) {
  if (grid.overlap == 0) return;
  rows_.resize(grid.height);
  tiles_missing_.assign(grid.height, 0);
  const int stride = grid.tile - grid.overlap;
  for (int ty = 0; ty < grid.tiles_y; ++ty)
    for (int y = ty * stride; y < std::min(grid.height, ty * stride + grid.tile); ++y)
      tiles_missing_[y] += grid.tiles_x;
  // Up to tile / 2 the ramps of two neighbours sum to 1 exactly as before (no division, the same bytes).
  if (2 * grid.overlap > grid.tile) {
    inverse_x_ = blend_weight_sums(grid.width, grid.tiles_x, grid.tile, grid.overlap);
    inverse_y_ = blend_weight_sums(grid.height, grid.tiles_y, grid.tile, grid.overlap);
  }
}

void TileStitcher::add(const float* tiles, int first, int count) { add_tiles(tiles, first, count); }

void TileStitcher::add(const uint8_t* tiles, int first, int count) { add_tiles(tiles, first, count); }

template <typename Pixel>
void TileStitcher::add_tiles(const Pixel* tiles, int first, int count) {
  const int t = grid_.tile;
  const size_t plane = static_cast<size_t>(t) * t;
  const bool blended = grid_.overlap > 0;
  std::vector<float> column_weight(t);
  for (int index = 0; index < count; ++index) {
    const int tx = (first + index) % grid_.tiles_x, ty = (first + index) / grid_.tiles_x;
    const int origin_x = grid_.origin_x(tx), origin_y = grid_.origin_y(ty);
    const int visible_w = std::min(t, grid_.width - origin_x),
              visible_h = std::min(t, grid_.height - origin_y);
    for (int x = 0; x < visible_w; ++x)
      column_weight[x] = blend_weight(x, t, grid_.overlap, tx > 0, tx + 1 < grid_.tiles_x);
    const Pixel* tile = tiles + index * 3 * plane;
    for (int y = 0; y < visible_h; ++y) {
      const int image_y = origin_y + y;
      if (!blended) {
        uint8_t* out = rgb_ + (static_cast<size_t>(image_y) * grid_.width + origin_x) * 3;
        for (int x = 0; x < visible_w; ++x)
          for (int c = 0; c < 3; ++c) {
            const Pixel pixel = tile[c * plane + static_cast<size_t>(y) * t + x];
            // A byte is already what to_byte would make of it.
            if constexpr (std::is_same_v<Pixel, uint8_t>) {
              out[x * 3 + c] = pixel;
            } else {
              out[x * 3 + c] = to_byte(pixel);
            }
          }
        continue;
      }
      std::vector<float>& row = rows_[image_y];
      if (row.empty()) {
        row.assign(static_cast<size_t>(grid_.width) * 3, 0.0f);
        ++rows_held_;
      }
      const float row_weight = blend_weight(y, t, grid_.overlap, ty > 0, ty + 1 < grid_.tiles_y);
      float* sum = row.data() + static_cast<size_t>(origin_x) * 3;
      for (int x = 0; x < visible_w; ++x)
        for (int c = 0; c < 3; ++c)
          sum[x * 3 + c] +=
              unit_value(tile[c * plane + static_cast<size_t>(y) * t + x]) * row_weight * column_weight[x];
      if (--tiles_missing_[image_y] == 0) finish_row(image_y);
    }
  }
}

void TileStitcher::finish_row(int y) {
  std::vector<float>& row = rows_[y];
  uint8_t* out = rgb_ + static_cast<size_t>(y) * grid_.width * 3;
  if (inverse_x_.empty()) {
    // The blend weights of the tiles covering a pixel sum to 1, so the weighted sum is already the mean.
    for (size_t i = 0; i < row.size(); ++i) out[i] = to_byte(row[i]);
  } else {
    for (int x = 0; x < grid_.width; ++x)
      for (int c = 0; c < 3; ++c)
        out[x * 3 + c] = to_byte(row[static_cast<size_t>(x) * 3 + c] * (inverse_x_[x] * inverse_y_[y]));
  }
  std::vector<float>().swap(row);
  --rows_held_;
}

void TileStitcher::finish() {
  // Rows whose tiles did not all come (a caller's mistake) are still written from what arrived.
  for (int y = 0; y < static_cast<int>(rows_.size()); ++y)
    if (!rows_[y].empty()) finish_row(y);
}

void stitch_tiles(const float* tiles, const TileGrid& grid, uint8_t* rgb) {
  TileStitcher stitcher(grid, rgb);
  stitcher.add(tiles, 0, grid.count());
  stitcher.finish();
}

void correct_seam_casts(uint8_t* rgb, const TileGrid& grid, int radius) {
  radius = std::min(radius, grid.tile / 2);  // each seam's correction stays within its half of the tile
  if (radius <= 0 || grid.overlap > 0 || grid.count() == 1) return;
  // Corrections accumulate in floats and are rounded once, so small casts are not lost to rounding.
  std::vector<float> image(rgb, rgb + static_cast<size_t>(grid.width) * grid.height * 3);
  const ptrdiff_t row_stride = static_cast<ptrdiff_t>(grid.width) * 3;
  for (int tx = 1; tx < grid.tiles_x; ++tx)
    correct_one_seam_cast(image.data(), 3, row_stride, grid.width, grid.height, grid.origin_x(tx), radius);
  for (int ty = 1; ty < grid.tiles_y; ++ty)
    correct_one_seam_cast(image.data(), row_stride, 3, grid.height, grid.width, grid.origin_y(ty), radius);
  for (size_t i = 0; i < image.size(); ++i)
    rgb[i] = static_cast<uint8_t>(std::clamp(std::lround(image[i]), 0L, 255L));
}

void smooth_seams(uint8_t* rgb, const TileGrid& grid, int radius) {
  if (radius <= 0 || grid.overlap > 0) return;
  const ptrdiff_t row_stride = static_cast<ptrdiff_t>(grid.width) * 3;
  for (int tx = 1; tx < grid.tiles_x; ++tx)
    for (int y = 0; y < grid.height; ++y)
      for (int c = 0; c < 3; ++c)
        smooth_one_seam(rgb + y * row_stride + c, 3, grid.width, grid.origin_x(tx), radius);
  for (int ty = 1; ty < grid.tiles_y; ++ty)
    for (int x = 0; x < grid.width; ++x)
      for (int c = 0; c < 3; ++c)
        smooth_one_seam(rgb + x * 3 + c, row_stride, grid.height, grid.origin_y(ty), radius);
}

}  // namespace odp::codec
