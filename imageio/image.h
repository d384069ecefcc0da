// Images in memory and on disk: decode PNG/JPEG/WebP/PPM to 8-bit RGB, encode PNG/PPM/JPEG/WebP.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace odp::codec {

// What went wrong, so that tools can map a failure onto an exit code without parsing messages.
enum class ErrorKind {
  kBadInput,  // unsupported, corrupt, truncated beyond use, zero-sized or too large input
  kIo,        // a file could not be opened, read or written (missing, permissions, full disk)
  kModel,     // no model file, a broken one, or a .odp made by a different model
  kUsage,     // an impossible request (e.g. a quality outside 0..100, a size smaller than any file)
};

// Every failure in codec/ (unreadable image, unsupported format, impossible request) is reported as this.
class CodecError : public std::runtime_error {
 public:
  explicit CodecError(const std::string& message, ErrorKind kind = ErrorKind::kBadInput)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// 8-bit RGB, interleaved, rows top to bottom, no padding between rows.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;       // width * height * 3
  std::vector<uint8_t> icc;       // ICC profile as found in the input, or empty
  std::vector<uint8_t> exif;      // EXIF block (without the "Exif\0\0" prefix), or empty
  // Conversions made while reading that a user may want to know about (16-bit reduced to 8-bit, an opaque
  // alpha channel dropped, alpha flattened, EXIF orientation applied). Printed by the tools with -v.
  std::vector<std::string> notes;
};

// How images are read. Alpha: a fully opaque alpha channel is dropped (lossless); any other alpha is
// refused unless flatten_alpha, which composites the image over white. 16-bit samples become 8-bit
// (rounded), with a note. JPEG EXIF orientation is applied to the pixels and reset to 1 in the EXIF kept.
struct ReadOptions {
  uint64_t max_pixels = 1ull << 28;  // refuse larger images before allocating (268 Mpx)
  bool flatten_alpha = false;
};
using ImageLimits = ReadOptions;

// Reads by content (signature), not by extension. path "-" reads stdin.
Image read_image(const std::string& path, const ImageLimits& limits = {});
Image decode_image(const uint8_t* data, size_t size, const std::string& name_for_errors,
                   const ImageLimits& limits = {});

enum class ImageFormat { kPng, kPpm, kJpeg, kWebp };
// Chooses the output format from the extension (.png .ppm .jpg/.jpeg .webp); png when unknown.
ImageFormat format_for_path(const std::string& path);
std::vector<uint8_t> encode_image(const Image& image, ImageFormat format, int quality = 90);
// Encodes and writes atomically (temporary file + rename). path "-" writes stdout.
void write_image(const std::string& path, const Image& image, int quality = 90);

}  // namespace odp::codec
