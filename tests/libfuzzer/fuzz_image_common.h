// Shared by the image fuzzers: tight limits and the one call under test.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_check.h"
#include "imageio/image.h"
#include "imageio/image_formats.h"

namespace odp::imageio::fuzz {

// Limits small enough that one input runs in milliseconds.
inline ReadOptions fuzz_read_options(bool flatten) {
  ReadOptions options;
  options.max_pixels = 1u << 20;
  options.max_side = 1u << 14;
  options.flatten_alpha = flatten;
  return options;
}

// The first byte picks the mode: bit 0 flattens alpha; 0xEE takes the rest as an EXIF block applied to a
// small image (the orientation parser on its own, as JPEG and WebP files carry it).
inline void decode_one(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const uint8_t mode = data[0];
  ++data, --size;
  if (mode == 0xEE) {
    Image image;
    image.width = 3, image.height = 2;
    image.rgb.assign(3 * 2 * 3, 7);
    image.exif.assign(data, data + size);
    detail::apply_exif_orientation(image);
    ODP_FUZZ_CHECK(image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3);
    return;
  }
  const ReadOptions options = fuzz_read_options(mode & 1);
  try {
    const Image image = decode_image(data, size, "fuzz-input", options);
    ODP_FUZZ_CHECK(image.width > 0 && image.height > 0);
    ODP_FUZZ_CHECK(static_cast<uint64_t>(image.width) * image.height <= options.max_pixels);
    ODP_FUZZ_CHECK(image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3);
  } catch (const Error&) {
  }
}

}  // namespace odp::imageio::fuzz
