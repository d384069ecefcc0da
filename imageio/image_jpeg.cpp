// JPEG through libjpeg-turbo: gray/YCbCr/CMYK in with ICC, EXIF and EXIF orientation; RGB out with both.
// clang-format off
#include <cstdio>  // jpeglib.h needs FILE declared first
#include <jpeglib.h>
#include <jerror.h>  // JWRN_JPEG_EOF
// clang-format on

#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "imageio/image_formats.h"

namespace odp::imageio::detail {
namespace {

const char kExifPrefix[] = "Exif\0\0";  // 6 bytes that open an APP1 EXIF marker
constexpr size_t kExifPrefixLength = 6;

struct JpegErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
  // What running out of data means now: nothing before the image data, an error while jpeg_start_decompress
  // reads a progressive file's scans, and while scanlines are decoded an error only once the decoder needs
  // bits that are not there (JWRN_HIT_MARKER): its read-ahead also reaches the end of a file that merely
  // lacks its EOI marker, and such files are common and whole.
  enum class Phase { kHeader, kScans, kScanlines, kDone } phase = Phase::kHeader;
};

void on_error(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings (e.g. extraneous bytes) are not worth a line each, but running out of data is an error: libjpeg
// would fill the missing part with grey and call the image whole.
void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  using Phase = JpegErrorManager::Phase;
  const Phase phase = reinterpret_cast<JpegErrorManager*>(cinfo->err)->phase;
  const int code = cinfo->err->msg_code;
  if ((phase == Phase::kScans && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER)) ||
      (phase == Phase::kScanlines && code == JWRN_HIT_MARKER))
    on_error(cinfo);
}

// An ICC profile is split over at most 255 APP2 markers of 65519 bytes each (the sequence numbers are one
// byte); a longer one cannot be written (libjpeg-turbo would wrap the count and write an invalid file).
constexpr size_t kMaxJpegIccBytes = 255u * 65519u;

// State kept off the stack frame that calls setjmp.
struct JpegRead {
  jpeg_decompress_struct cinfo;
  JpegErrorManager errors;
  Image image;
  std::vector<uint8_t> samples;
  int channels = 0;
  bool cmyk = false;
};

bool run_decompress(JpegRead& read, const uint8_t* data, size_t size, const ReadOptions& options,
                    const std::string& name) {
  jpeg_decompress_struct& cinfo = read.cinfo;
  if (setjmp(read.errors.jump)) return false;
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  check_dimensions(cinfo.image_width, cinfo.image_height, options, name);
  read.cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = read.cmyk ? JCS_CMYK : JCS_RGB;
  read.errors.phase = JpegErrorManager::Phase::kScans;  // a progressive file is read whole here
  jpeg_start_decompress(&cinfo);
  read.errors.phase = JpegErrorManager::Phase::kScanlines;
  read.image.width = static_cast<int>(cinfo.output_width);
  read.image.height = static_cast<int>(cinfo.output_height);
  read.channels = cinfo.output_components;
  const size_t row_bytes = static_cast<size_t>(cinfo.output_width) * cinfo.output_components;
  // Grown row by row (geometrically), so that a file declaring a huge image but holding little data fails
  // at its end before the memory of the whole image is touched.
  while (cinfo.output_scanline < cinfo.output_height) {
    const size_t offset = static_cast<size_t>(cinfo.output_scanline) * row_bytes;
    read.samples.resize(offset + row_bytes);
    JSAMPROW row = read.samples.data() + offset;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  read.errors.phase = JpegErrorManager::Phase::kDone;
  JOCTET* icc = nullptr;
  unsigned int icc_length = 0;
  if (jpeg_read_icc_profile(&cinfo, &icc, &icc_length) && icc) {
    read.image.icc.assign(icc, icc + icc_length);
    std::free(icc);
  }
  for (jpeg_saved_marker_ptr marker = cinfo.marker_list; marker; marker = marker->next) {
    if (marker->marker == JPEG_APP0 + 1 && marker->data_length > kExifPrefixLength &&
        std::memcmp(marker->data, kExifPrefix, kExifPrefixLength) == 0 && read.image.exif.empty())
      read.image.exif.assign(marker->data + kExifPrefixLength, marker->data + marker->data_length);
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

// Adobe CMYK JPEGs store inverted ink amounts, so RGB = C' * K' / 255 channel by channel.
void cmyk_to_rgb(std::vector<uint8_t>& samples, size_t pixels) {
  for (size_t i = 0; i < pixels; ++i) {
    const uint8_t* cmyk = samples.data() + i * 4;
    for (int c = 0; c < 3; ++c) samples[i * 3 + c] = static_cast<uint8_t>((cmyk[c] * cmyk[3] + 127) / 255);
  }
  samples.resize(pixels * 3);
}

struct JpegWrite {
  jpeg_compress_struct cinfo;
  JpegErrorManager errors;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
};

bool run_compress(JpegWrite& write, const Image& image, int quality) {
  jpeg_compress_struct& cinfo = write.cinfo;
  if (setjmp(write.errors.jump)) return false;
  jpeg_mem_dest(&cinfo, &write.buffer, &write.size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  if (!image.exif.empty() && image.exif.size() + kExifPrefixLength <= 65533) {
    std::vector<JOCTET> marker(kExifPrefix, kExifPrefix + kExifPrefixLength);
    marker.insert(marker.end(), image.exif.begin(), image.exif.end());
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, marker.data(), static_cast<unsigned>(marker.size()));
  }
  if (!image.icc.empty())
    jpeg_write_icc_profile(&cinfo, image.icc.data(), static_cast<unsigned>(image.icc.size()));
  const size_t row_bytes = static_cast<size_t>(image.width) * 3;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(image.rgb.data() + cinfo.next_scanline * row_bytes);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  return true;
}

}  // namespace

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options) {
  auto read = std::make_unique<JpegRead>();
  read->cinfo.err = jpeg_std_error(&read->errors.base);
  read->errors.base.error_exit = on_error;
  read->errors.base.emit_message = on_message;
  jpeg_create_decompress(&read->cinfo);
  bool ok = false;
  try {
    ok = run_decompress(*read, data, size, options, name);
  } catch (...) {
    jpeg_destroy_decompress(&read->cinfo);
    throw;
  }
  jpeg_destroy_decompress(&read->cinfo);
  if (!ok) throw Error(name + ": corrupt or unsupported JPEG (" + read->errors.message + ")");
  Image& image = read->image;
  if (read->cmyk) {
    cmyk_to_rgb(read->samples, static_cast<size_t>(image.width) * image.height);
    image.notes.push_back("converted CMYK to RGB");
  }
  store_samples(image, read->samples.data(), read->cmyk ? 3 : read->channels, options, name);
  apply_exif_orientation(image);
  return std::move(image);
}

std::vector<uint8_t> encode_jpeg(const Image& image, int quality) {
  if (image.icc.size() > kMaxJpegIccBytes)
    throw Error("cannot write the " + std::to_string(image.icc.size()) +
                    "-byte ICC profile into a JPEG, which holds at most " + std::to_string(kMaxJpegIccBytes) +
                    " bytes of profile; write PNG or WebP instead",
                ErrorKind::kUsage);
  auto write = std::make_unique<JpegWrite>();
  write->cinfo.err = jpeg_std_error(&write->errors.base);
  write->errors.base.error_exit = on_error;
  write->errors.base.emit_message = on_message;
  jpeg_create_compress(&write->cinfo);
  bool ok = run_compress(*write, image, quality);
  jpeg_destroy_compress(&write->cinfo);
  std::vector<uint8_t> bytes;
  if (write->buffer) {
    if (ok) bytes.assign(write->buffer, write->buffer + write->size);
    std::free(write->buffer);
  }
  if (!ok) throw Error(std::string("cannot encode JPEG: ") + write->errors.message, ErrorKind::kIo);
  return bytes;
}

}  // namespace odp::imageio::detail
