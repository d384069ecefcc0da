// Image files: decode PNG/JPEG/WebP/PPM to 8-bit RGB, encode PNG/PPM/JPEG/WebP (for the tools, bench,
// trainer). Failures are base::Error: kBadInput for unreadable or unsupported images, kIo for files, kUsage
// for requests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file_io.h"
#include "base/image.h"

namespace odp::imageio {

using base::Error;
using base::ErrorKind;
using base::Image;

// How images are read. Alpha: a fully opaque alpha channel is dropped (lossless); any other alpha is
// refused unless flatten_alpha, which composites the image over white. 16-bit samples become 8-bit
// (rounded), with a note. JPEG EXIF orientation is applied to the pixels and reset to 1 in the EXIF kept.
struct ReadOptions {
  // Checked against the header before any pixel is decoded or allocated. odpenc sets max_side to the
  // format's 65535 and max_pixels from --max-pixels.
  uint64_t max_pixels = 1ull << 28;                        // refuse larger images before allocating (268 Mpx)
  uint64_t max_side = 1ull << 30;                          // width and height each
  uint64_t max_input_bytes = base::kDefaultMaxInputBytes;  // read_image's cap on the file (or stdin)
  bool flatten_alpha = false;
};
using ImageLimits = ReadOptions;

// Reads by content (signature), not by extension. path "-" reads stdin; input whose first bytes carry no
// known signature is refused before the rest is read.
Image read_image(const std::string& path, const ImageLimits& limits = {});
Image decode_image(const uint8_t* data, size_t size, const std::string& name_for_errors,
                   const ImageLimits& limits = {});

// How many leading bytes check_image_signature needs to tell every format it knows (fewer: all there are).
constexpr size_t kImageSignatureBytes = 12;
// Throws kBadInput naming the input unless its first bytes carry the signature of a format decode_image
// reads: "the file is empty", "this is a .odp file, not an image" or "unknown signature".
void check_image_signature(const uint8_t* data, size_t size, const std::string& name_for_errors);

enum class ImageFormat { kPng, kPpm, kJpeg, kWebp };
// Chooses the output format from the extension (.png .ppm .jpg/.jpeg .webp); png when unknown.
ImageFormat format_for_path(const std::string& path);
std::vector<uint8_t> encode_image(const Image& image, ImageFormat format, int quality = 90);
// Encodes and writes atomically (temporary file + rename). path "-" writes stdout.
void write_image(const std::string& path, const Image& image, int quality = 90);

}  // namespace odp::imageio
