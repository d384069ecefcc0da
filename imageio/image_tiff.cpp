// TIFF through libtiff: any layout libtiff's RGBA interface reads (bit depths, photometrics, tiles, strips),
// the first page, its ICC profile; left out when built without libtiff.
#include "imageio/image_formats.h"

#ifdef ODP_HAVE_TIFF
#include <tiffio.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#endif

namespace odp::imageio::detail {

#ifdef ODP_HAVE_TIFF
namespace {

// The bytes libtiff reads through its client callbacks, and its first error message. The callbacks run
// inside libtiff's C frames: they must not throw (an exception would skip libtiff's own clean-up and leak
// what it holds), so the message is a fixed buffer, not a std::string that may fail to allocate.
struct TiffSource {
  const uint8_t* data = nullptr;
  uint64_t size = 0, offset = 0;
  char message[256] = {};
};

tmsize_t read_bytes(thandle_t handle, void* out, tmsize_t length) {
  auto* source = static_cast<TiffSource*>(handle);
  if (length < 0) return -1;
  const uint64_t available = source->offset < source->size ? source->size - source->offset : 0;
  const uint64_t count = std::min<uint64_t>(static_cast<uint64_t>(length), available);
  std::memcpy(out, source->data + source->offset, count);
  source->offset += count;
  return static_cast<tmsize_t>(count);
}

tmsize_t write_bytes(thandle_t, void*, tmsize_t) { return -1; }

toff_t seek_bytes(thandle_t handle, toff_t offset, int whence) {
  auto* source = static_cast<TiffSource*>(handle);
  uint64_t base = whence == SEEK_CUR ? source->offset : whence == SEEK_END ? source->size : 0;
  if (offset > UINT64_MAX - base) return static_cast<toff_t>(-1);
  source->offset = base + offset;
  return source->offset;
}

int close_source(thandle_t) { return 0; }
toff_t size_of(thandle_t handle) { return static_cast<TiffSource*>(handle)->size; }

int on_error(TIFF*, void* user_data, const char* module, const char* format, va_list arguments) {
  auto* source = static_cast<TiffSource*>(user_data);
  if (source->message[0] == 0) {
    char text[200];
    std::vsnprintf(text, sizeof text, format, arguments);
    std::snprintf(source->message, sizeof source->message, "%s: %s", module ? module : "libtiff", text);
  }
  return 1;
}

int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

}  // namespace

Image decode_tiff(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options) {
  TiffSource source;
  source.data = data;
  source.size = size;
  std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> open_options(TIFFOpenOptionsAlloc(),
                                                                            TIFFOpenOptionsFree);
  if (!open_options) throw Error(name + ": out of memory starting the TIFF reader", ErrorKind::kIo);
  TIFFOpenOptionsSetErrorHandlerExtR(open_options.get(), on_error, &source);
  TIFFOpenOptionsSetWarningHandlerExtR(open_options.get(), on_warning, &source);
  std::unique_ptr<TIFF, void (*)(TIFF*)> tiff(
      TIFFClientOpenExt(name.c_str(), "rm", &source, read_bytes, write_bytes, seek_bytes, close_source,
                        size_of, nullptr, nullptr, open_options.get()),
      TIFFClose);
  auto failure = [&](const std::string& what) {
    return Error(name + ": corrupt or unsupported TIFF (" +
                 (source.message[0] == 0 ? what : std::string(source.message)) + ")");
  };
  if (!tiff) throw failure("cannot read its header");
  uint32_t width = 0, height = 0;
  TIFFGetField(tiff.get(), TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tiff.get(), TIFFTAG_IMAGELENGTH, &height);
  check_dimensions(width, height, options, name);
  char refusal[1024] = "";
  if (!TIFFRGBAImageOK(tiff.get(), refusal)) throw failure(refusal);
  Image image;
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  uint16_t bits = 8, extra_count = 0;
  uint16_t* extra_types = nullptr;
  TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_BITSPERSAMPLE, &bits);
  if (bits > 8) image.notes.push_back("reduced " + std::to_string(bits) + "-bit samples to 8-bit");
  const bool has_alpha =
      TIFFGetField(tiff.get(), TIFFTAG_EXTRASAMPLES, &extra_count, &extra_types) == 1 && extra_count > 0;
  uint32_t icc_length = 0;
  void* icc = nullptr;
  if (TIFFGetField(tiff.get(), TIFFTAG_ICCPROFILE, &icc_length, &icc) == 1 && icc && icc_length > 0)
    image.icc.assign(static_cast<uint8_t*>(icc), static_cast<uint8_t*>(icc) + icc_length);
  const size_t pixels = static_cast<size_t>(width) * height;
  std::vector<uint32_t> raster(pixels);
  if (!TIFFReadRGBAImageOriented(tiff.get(), width, height, raster.data(), ORIENTATION_TOPLEFT, 0))
    throw failure("the image data does not decode");
  const int pages = TIFFNumberOfDirectories(tiff.get());
  if (pages > 1)
    image.warnings.push_back("the TIFF holds " + std::to_string(pages) + " pages; encoded the first only");
  // Repacked in place (each pixel's bytes move to a lower or equal offset), so no second buffer is needed.
  const int channels = has_alpha ? 4 : 3;
  uint8_t* samples = reinterpret_cast<uint8_t*>(raster.data());
  for (size_t i = 0; i < pixels; ++i) {
    const uint32_t pixel = raster[i];
    uint8_t* out = samples + i * channels;
    out[0] = static_cast<uint8_t>(TIFFGetR(pixel));
    out[1] = static_cast<uint8_t>(TIFFGetG(pixel));
    out[2] = static_cast<uint8_t>(TIFFGetB(pixel));
    if (has_alpha) out[3] = static_cast<uint8_t>(TIFFGetA(pixel));
  }
  store_samples(image, samples, channels, options, name);
  return image;
}
#else
Image decode_tiff(const uint8_t*, size_t, const std::string& name, const ReadOptions&) {
  throw Error(name + ": this odp was built without libtiff, so it cannot read TIFF");
}
#endif

}  // namespace odp::imageio::detail
