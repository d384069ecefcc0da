// Internal: one decoder/encoder per image file format, and the pixel conversions they share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "imageio/image.h"

namespace odp::imageio::detail {

Image decode_png(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options);
Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options);
Image decode_webp(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options);
Image decode_pnm(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options);
Image decode_tiff(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options);
Image decode_gif(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options);

std::vector<uint8_t> encode_png(const Image& image);
std::vector<uint8_t> encode_jpeg(const Image& image, int quality);
std::vector<uint8_t> encode_webp(const Image& image, int quality);
std::vector<uint8_t> encode_pnm(const Image& image);

// Refuses zero-sized images and images above options.max_pixels, before any pixel buffer is allocated.
void check_dimensions(uint64_t width, uint64_t height, const ReadOptions& options, const std::string& name);

// Fills image.rgb from interleaved 8-bit samples with 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels.
// Alpha follows ReadOptions: dropped when fully opaque, flattened over white on request, refused otherwise.
void store_samples(Image& image, const uint8_t* samples, int channels, const ReadOptions& options,
                   const std::string& name);

// Reads the EXIF orientation (1..8; 1 when absent or unreadable), rotates/flips the pixels upright and
// sets the tag to 1 in image.exif so that viewers do not rotate a second time.
void apply_exif_orientation(Image& image);

}  // namespace odp::imageio::detail
