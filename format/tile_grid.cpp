// The tile-count formula and the checked construction of a tile grid.
#include "format/tile_grid.h"

#include <string>

#include "base/error.h"

namespace odp::format {

uint32_t tiles_along(uint32_t length, uint32_t tile, uint32_t overlap) {
  if (overlap >= tile) return 0;
  if (length <= tile) return 1;
  const uint32_t stride = tile - overlap;
  return (length - overlap + stride - 1) / stride;
}

TileGrid TileGrid::make(int width, int height, int tile, int overlap) {
  if (width < 1 || height < 1 || tile < 1 || overlap < 0 || overlap >= tile)
    throw base::Error("invalid tile grid: image " + std::to_string(width) + "x" + std::to_string(height) +
                          ", tile " + std::to_string(tile) + ", overlap " + std::to_string(overlap) +
                          " (overlap must be 0..tile-1)",
                      base::ErrorKind::kUsage);
  TileGrid grid;
  grid.width = width;
  grid.height = height;
  grid.tile = tile;
  grid.overlap = overlap;
  grid.tiles_x = static_cast<int>(tiles_along(width, tile, overlap));
  grid.tiles_y = static_cast<int>(tiles_along(height, tile, overlap));
  return grid;
}

}  // namespace odp::format
