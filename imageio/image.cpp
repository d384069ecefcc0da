// Image reading/writing entry points: pick a decoder by the file's signature and an encoder by extension.
#include "imageio/image.h"

#include <algorithm>
#include <cstring>

#include "base/file_io.h"
#include "imageio/image_formats.h"

namespace odp::imageio {
namespace detail {

void check_dimensions(uint64_t width, uint64_t height, const ReadOptions& options, const std::string& name) {
  if (width == 0 || height == 0)
    throw Error(name + ": the image is empty (" + std::to_string(width) + "x" + std::to_string(height) + ")");
  if (width > options.max_side || height > options.max_side)
    throw Error(name + ": the image is " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels, wider or taller than the limit of " + std::to_string(options.max_side));
  if (width > (1u << 30) || height > (1u << 30) || width * height > options.max_pixels)
    throw Error(name + ": the image is " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels, above the limit of " + std::to_string(options.max_pixels) + " pixels");
}

void store_samples(Image& image, const uint8_t* samples, int channels, const ReadOptions& options,
                   const std::string& name) {
  const size_t pixels = static_cast<size_t>(image.width) * image.height;
  const bool has_alpha = channels == 2 || channels == 4;
  const int color_channels = has_alpha ? channels - 1 : channels;
  bool opaque = true;
  if (has_alpha) {
    for (size_t i = 0; i < pixels && opaque; ++i) opaque = samples[i * channels + color_channels] == 255;
    if (!opaque && !options.flatten_alpha)
      throw Error(name +
                  ": the image has transparent pixels, which odp does not store; flatten it onto "
                  "white with --flatten-alpha or remove the alpha channel first");
    image.notes.push_back(opaque ? "dropped a fully opaque alpha channel (lossless)"
                                 : "flattened the alpha channel onto white");
  }
  image.rgb.resize(pixels * 3);
  for (size_t i = 0; i < pixels; ++i) {
    const uint8_t* pixel = samples + i * channels;
    const int alpha = has_alpha ? pixel[color_channels] : 255;
    for (int c = 0; c < 3; ++c) {
      int value = pixel[color_channels == 1 ? 0 : c];
      // Over white: v * a + 255 * (1 - a), rounded; exact for opaque pixels.
      if (alpha != 255) value = (value * alpha + 255 * (255 - alpha) + 127) / 255;
      image.rgb[i * 3 + c] = static_cast<uint8_t>(value);
    }
  }
}

}  // namespace detail

namespace {

// An animated PNG (APNG) has an acTL chunk before its first IDAT; libpng reads its default image, which is
// the first frame (or an image shown by viewers without APNG support).
bool is_animated_png(const uint8_t* data, size_t size) {
  size_t offset = 8;
  while (offset + 8 <= size) {
    const uint32_t length = (uint32_t{data[offset]} << 24) | (uint32_t{data[offset + 1]} << 16) |
                            (uint32_t{data[offset + 2]} << 8) | data[offset + 3];
    const char* type = reinterpret_cast<const char*>(data + offset + 4);
    if (std::memcmp(type, "acTL", 4) == 0) return true;
    if (std::memcmp(type, "IDAT", 4) == 0 || length > size) return false;
    offset += 12 + static_cast<size_t>(length);
  }
  return false;
}

enum class Signature { kNone, kOdp, kPng, kJpeg, kWebp, kTiff, kGif, kPnm };

// The format whose signature the first bytes carry (at most kImageSignatureBytes are looked at).
Signature signature_of(const uint8_t* data, size_t size) {
  auto starts_with = [&](const char* signature, size_t length, size_t offset = 0) {
    return size >= offset + length && std::memcmp(data + offset, signature, length) == 0;
  };
  if (starts_with("\x89PNG\r\n\x1a\n", 8)) return Signature::kPng;
  if (starts_with("\xff\xd8\xff", 3)) return Signature::kJpeg;
  if (starts_with("RIFF", 4) && starts_with("WEBP", 4, 8)) return Signature::kWebp;
  if (starts_with("II*\0", 4) || starts_with("MM\0*", 4) || starts_with("II+\0", 4) ||
      starts_with("MM\0+", 4))
    return Signature::kTiff;
  if (starts_with("GIF87a", 6) || starts_with("GIF89a", 6)) return Signature::kGif;
  if (size >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7') return Signature::kPnm;
  if (starts_with("ODP", 3) || starts_with("\x4f\x82", 2)) return Signature::kOdp;
  return Signature::kNone;
}

}  // namespace

void check_image_signature(const uint8_t* data, size_t size, const std::string& name_for_errors) {
  switch (signature_of(data, size)) {
    case Signature::kNone:
      if (size == 0) throw Error(name_for_errors + ": the file is empty");
      throw Error(name_for_errors + ": unsupported image format: not a PNG, JPEG, WebP, TIFF, GIF, PPM or " +
                  "PGM file (unknown signature)");
    case Signature::kOdp:
      throw Error(name_for_errors + ": this is a .odp file, not an image; decode it with odpdec");
    default:
      return;
  }
}

Image decode_image(const uint8_t* data, size_t size, const std::string& name_for_errors,
                   const ImageLimits& limits) {
  switch (signature_of(data, size)) {
    case Signature::kPng: {
      Image image = detail::decode_png(data, size, name_for_errors, limits);
      if (is_animated_png(data, size)) image.warnings.push_back("animated PNG: encoded the first frame only");
      return image;
    }
    case Signature::kJpeg:
      return detail::decode_jpeg(data, size, name_for_errors, limits);
    case Signature::kWebp:
      return detail::decode_webp(data, size, name_for_errors, limits);
    case Signature::kTiff:
      return detail::decode_tiff(data, size, name_for_errors, limits);
    case Signature::kGif:
      return detail::decode_gif(data, size, name_for_errors, limits);
    case Signature::kPnm:
      return detail::decode_pnm(data, size, name_for_errors, limits);
    case Signature::kOdp:
    case Signature::kNone:
      break;
  }
  check_image_signature(data, size, name_for_errors);
  throw Error(name_for_errors + ": unsupported image format");  // not reached: the check threw
}

Image read_image(const std::string& path, const ImageLimits& limits) {
  const std::string name = path == "-" ? "stdin" : path;
  // Input with no image signature is refused from its first bytes, before the rest is read (stdin or a
  // device can be endless: odpenc - < /dev/zero).
  base::HeadCheck head;
  head.bytes = kImageSignatureBytes;
  head.check = [&](const uint8_t* data, size_t size) { check_image_signature(data, size, name); };
  std::vector<uint8_t> bytes = base::read_file(path, limits.max_input_bytes, head);
  return decode_image(bytes.data(), bytes.size(), name, limits);
}

ImageFormat format_for_path(const std::string& path) {
  size_t dot = path.rfind('.');
  std::string extension = dot == std::string::npos ? "" : path.substr(dot + 1);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (extension == "ppm" || extension == "pnm") return ImageFormat::kPpm;
  if (extension == "jpg" || extension == "jpeg") return ImageFormat::kJpeg;
  if (extension == "webp") return ImageFormat::kWebp;
  return ImageFormat::kPng;
}

std::vector<uint8_t> encode_image(const Image& image, ImageFormat format, int quality) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw Error("cannot encode an image whose pixel buffer does not match its size", ErrorKind::kUsage);
  switch (format) {
    case ImageFormat::kPpm:
      return detail::encode_pnm(image);
    case ImageFormat::kJpeg:
      return detail::encode_jpeg(image, quality);
    case ImageFormat::kWebp:
      return detail::encode_webp(image, quality);
    case ImageFormat::kPng:
      break;
  }
  return detail::encode_png(image);
}

void write_image(const std::string& path, const Image& image, int quality) {
  base::write_file_atomic(path, encode_image(image, format_for_path(path), quality));
}

}  // namespace odp::imageio
