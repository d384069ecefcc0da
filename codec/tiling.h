// Splitting an image into model-sized tiles and stitching decoded tiles back with hidden seams.
// cuda/ mirrors extract_tiles and stitch_tiles; these CPU versions are the reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "format/tile_grid.h"

namespace odp::codec {

// The grid's geometry and its one tile-count formula live in format/tile_grid.h. Pixels of a tile beyond the
// image edge are filled by mirror reflection (without repeating the edge).
using format::TileGrid;

// The overlap the encoder uses when none is given: 0 when the image fits one tile; otherwise the widest
// overlap (at most tile / 2) that needs no more tiles than `min_overlap` does. Where the image does not fill
// its tiles exactly, the pixels that would be padding become overlap for free, and the wider blend hides the
// seams better at the same byte cost.
int choose_overlap(int width, int height, int tile, int min_overlap);

// Mirror index into [0, n): -1 -> 1, n -> n - 2 (period 2n - 2); n == 1 maps everything to 0.
int reflect_index(int i, int n);

// rgb: width x height x 3 bytes. out: count() x 3 x tile x tile floats, value = byte / 255.
void extract_tiles(const uint8_t* rgb, const TileGrid& grid, float* out);
// The same for tiles first..first+count-1 only (out: count x 3 x tile x tile), so memory stays one batch.
void extract_tiles(const uint8_t* rgb, const TileGrid& grid, int first, int count, float* out);
// The same tiles as bytes (value = byte), for TileModel::encode_bytes: a quarter of the memory to move.
void extract_tiles(const uint8_t* rgb, const TileGrid& grid, int first, int count, uint8_t* out);

// Blend weight of position p (0..tile-1) along one axis inside a tile that has neighbours on the low side
// (has_low) and/or high side (has_high): 1 in the interior, a linear ramp (k + 0.5) / overlap across the
// overlap region shared with a neighbour. The 2D weight is the product of the two axes' weights.
float blend_weight(int p, int tile, int overlap, bool has_low, bool has_high);

// tiles: count() x 3 x tile x tile floats in [0,1] (values outside are clamped). Each output pixel is the
// weighted mean of the tiles covering it, then round(v * 255) clamped to 0..255.
void stitch_tiles(const float* tiles, const TileGrid& grid, uint8_t* rgb);

// stitch_tiles in batches: add() tiles in any order, each exactly once, then finish(). Without overlap the
// tiles are written straight into rgb. With overlap, blended rows are accumulated in floats only while some
// tile covering them is still missing: a row is rounded into rgb and its floats freed as soon as every tile
// over it has come, so tiles added in row-major order (as the codec does) keep at most tile + 1 rows of
// width x 3 floats, whatever the image's height. Overlaps above tile / 2 (three tiles over a pixel, valid per
// spec) are normalised by the sum of the blend weights, which is 1 for narrower overlaps.
class TileStitcher {
 public:
  TileStitcher(const TileGrid& grid, uint8_t* rgb);
  void add(const float* tiles, int first, int count);  // tiles first..first+count-1
  // Tiles already rounded to bytes (TileModel::decode_bytes). Without overlap this writes exactly what add()
  // writes for the floats they were rounded from; with overlap it blends the rounded values, which differs,
  // so the codec passes floats there.
  void add(const uint8_t* tiles, int first, int count);
  void finish();
  // Rows whose floats are held now (for tests and the benchmark of memory).
  size_t rows_in_progress() const { return rows_held_; }

 private:
  TileGrid grid_;
  uint8_t* rgb_;
  std::vector<std::vector<float>> rows_;      // with overlap: weighted sums of a row, empty until touched
  std::vector<int> tiles_missing_;            // with overlap: tiles still to come over each row
  std::vector<float> inverse_x_, inverse_y_;  // 1 / sum of blend weights per column/row (overlap > tile / 2)
  size_t rows_held_ = 0;
  template <typename Pixel>
  void add_tiles(const Pixel* tiles, int first, int count);
  void finish_row(int y);
};

// Evens out the low-frequency colour casts by which independently decoded, non-overlapping tiles differ:
// per seam and channel, the step between strips on either side (corrected for the local gradient, smoothed
// along the seam, textured rows and large steps trusted less) is removed half on each side, fading with a
// raised cosine to zero at min(radius, tile / 2) pixels from the seam; each tile's outermost pixel line is
// pulled onto its interior. Vertical seams first, then horizontal. Does nothing for radius 0, overlap > 0
// or a single tile. Works in floats and rounds once.
void correct_seam_casts(uint8_t* rgb, const TileGrid& grid, int radius);

// Hides the borders between non-overlapping tiles: across each seam, the step in excess of the local
// gradient is spread linearly over `radius` pixels on each side. Large steps (likely true edges) are
// left alone, fading from full correction at 24 levels to none at 64. Vertical seams first, then horizontal.
void smooth_seams(uint8_t* rgb, const TileGrid& grid, int radius);

}  // namespace odp::codec
