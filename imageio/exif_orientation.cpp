// EXIF orientation: find tag 0x0112 in IFD0 of the TIFF block, turn the pixels upright, reset the tag to 1.
#include <cstring>

#include "imageio/image_formats.h"

namespace odp::imageio::detail {
namespace {

constexpr uint16_t kOrientationTag = 0x0112;
constexpr uint16_t kShortType = 3;

// Returns the byte offset of the orientation value inside the EXIF block, or 0 when there is none.
size_t find_orientation(const std::vector<uint8_t>& exif, bool& big_endian) {
  if (exif.size() < 8) return 0;
  if (std::memcmp(exif.data(), "II*\0", 4) == 0) {
    big_endian = false;
  } else if (std::memcmp(exif.data(), "MM\0*", 4) == 0) {
    big_endian = true;
  } else {
    return 0;
  }
  auto read16 = [&](size_t at) -> uint32_t {
    return big_endian ? (exif[at] << 8 | exif[at + 1]) : (exif[at + 1] << 8 | exif[at]);
  };
  auto read32 = [&](size_t at) -> uint64_t {
    return big_endian ? (uint64_t{read16(at)} << 16 | read16(at + 2))
                      : (uint64_t{read16(at + 2)} << 16 | read16(at));
  };
  uint64_t directory = read32(4);
  if (directory + 2 > exif.size()) return 0;
  uint32_t entries = read16(directory);
  for (uint32_t i = 0; i < entries; ++i) {
    uint64_t entry = directory + 2 + 12ull * i;
    if (entry + 12 > exif.size()) return 0;
    if (read16(entry) == kOrientationTag && read16(entry + 2) == kShortType) return entry + 8;
  }
  return 0;
}

}  // namespace

void apply_exif_orientation(Image& image) {
  bool big_endian = false;
  size_t at = find_orientation(image.exif, big_endian);
  if (at == 0) return;
  const int orientation =
      big_endian ? image.exif[at + 1] | image.exif[at] << 8 : image.exif[at] | image.exif[at + 1] << 8;
  if (orientation < 2 || orientation > 8) return;
  const int width = image.width, height = image.height;
  const bool swaps = orientation >= 5;
  const int out_width = swaps ? height : width, out_height = swaps ? width : height;
  std::vector<uint8_t> upright(image.rgb.size());
  for (int y = 0; y < out_height; ++y) {
    for (int x = 0; x < out_width; ++x) {
      int source_x = x, source_y = y;
      switch (orientation) {
        case 2:
          source_x = width - 1 - x;
          break;
        case 3:
          source_x = width - 1 - x;
          source_y = height - 1 - y;
          break;
        case 4:
          source_y = height - 1 - y;
          break;
        case 5:
          source_x = y;
          source_y = x;
          break;
        case 6:
          source_x = y;
          source_y = height - 1 - x;
          break;
        case 7:
          source_x = width - 1 - y;
          source_y = height - 1 - x;
          break;
        case 8:
          source_x = width - 1 - y;
          source_y = x;
          break;
      }
      std::memcpy(&upright[(static_cast<size_t>(y) * out_width + x) * 3],
                  &image.rgb[(static_cast<size_t>(source_y) * width + source_x) * 3], 3);
    }
  }
  image.rgb.swap(upright);
  image.width = out_width;
  image.height = out_height;
  image.exif[at] = big_endian ? 0 : 1;
  image.exif[at + 1] = big_endian ? 1 : 0;
  image.notes.push_back("applied EXIF orientation " + std::to_string(orientation));
}

}  // namespace odp::imageio::detail
