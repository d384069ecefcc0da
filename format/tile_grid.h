// The tile grid of an image: the one tile-count formula that the format, the codec and the GPU kernels share.
#pragma once

#include <cstdint>

namespace odp::format {

// Tiles along an axis of length L with tile edge T and overlap O (spec/odp-format.md): 1 if L <= T, else
// ceil((L - O) / (T - O)); 0 when O >= T, where no grid exists.
uint32_t tiles_along(uint32_t length, uint32_t tile, uint32_t overlap);

// Tiles cover the image left to right, top to bottom; tile i along an axis starts at i * (T - O).
// make() throws base::Error(kUsage) unless width, height >= 1, tile >= 1 and 0 <= overlap <= tile - 1, the
// spec's range (above tile / 2 three tiles share pixels; codec/tiling.h's stitching normalises for that).
struct TileGrid {
  int width = 0, height = 0, tile = 256, overlap = 0;
  int tiles_x = 0, tiles_y = 0;
  static TileGrid make(int width, int height, int tile, int overlap);
  int count() const { return tiles_x * tiles_y; }
  int origin_x(int tx) const { return tx * (tile - overlap); }
  int origin_y(int ty) const { return ty * (tile - overlap); }
};

}  // namespace odp::format
