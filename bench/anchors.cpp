// JPEG and WebP anchors through libjpeg-turbo and libwebp, the anchor list, and the cached quality/downscale
// search (AVIF and JPEG XL live in avif_anchor.cpp and jxl_anchor.cpp).
#include "bench/anchors.h"

#include <jpeglib.h>

#include <chrono>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <limits>
#ifdef ODP_HAVE_WEBP
#include <webp/encode.h>
#endif

#include "base/resample.h"
#include "bench/metrics.h"

namespace odp::bench {

using base::resize_bicubic;
using base::scaled_size;
namespace {

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// libjpeg reports errors through a callback; a longjmp back to the encoder turns them into BenchError.
struct JpegErrorManager {
  jpeg_error_mgr base;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr info) {
  auto* manager = reinterpret_cast<JpegErrorManager*>(info->err);
  (*info->err->format_message)(info, manager->message);
  longjmp(manager->jump, 1);
}

class JpegMode : public AnchorMode {
 public:
  explicit JpegMode(bool subsample_chroma) : subsample_chroma_(subsample_chroma) {}
  std::string name() const override { return subsample_chroma_ ? "420" : "444"; }
  int min_quality() const override { return 1; }

  std::vector<uint8_t> encode(const Image& image, int quality) const override {
    jpeg_compress_struct info{};
    JpegErrorManager errors{};
    info.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = jpeg_error_exit;
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    if (setjmp(errors.jump)) {
      jpeg_destroy_compress(&info);
      std::free(buffer);
      throw BenchError(std::string("JPEG anchor: libjpeg failed: ") + errors.message);
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &buffer, &size);
    info.image_width = static_cast<JDIMENSION>(image.width);
    info.image_height = static_cast<JDIMENSION>(image.height);
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    info.optimize_coding = TRUE;
    info.comp_info[0].h_samp_factor = info.comp_info[0].v_samp_factor = subsample_chroma_ ? 2 : 1;
    // No JFIF APP0 marker: 18 bytes that a size-matched comparison should not charge to JPEG.
    info.write_JFIF_header = FALSE;
    jpeg_start_compress(&info, TRUE);
    const int stride = image.width * 3;
    while (info.next_scanline < info.image_height) {
      JSAMPROW row = const_cast<JSAMPROW>(&image.rgb[static_cast<size_t>(info.next_scanline) * stride]);
      jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    std::vector<uint8_t> bytes(buffer, buffer + size);
    std::free(buffer);
    return bytes;
  }

 private:
  bool subsample_chroma_;
};

#ifdef ODP_HAVE_WEBP
class WebpMode : public AnchorMode {
 public:
  std::string name() const override { return "m6"; }
  int min_quality() const override { return 0; }

  std::vector<uint8_t> encode(const Image& image, int quality) const override {
    WebPConfig config;
    if (!WebPConfigInit(&config)) throw BenchError("WebP anchor: libwebp version mismatch");
    config.quality = static_cast<float>(quality);
    config.method = 6;
    WebPPicture picture;
    if (!WebPPictureInit(&picture)) throw BenchError("WebP anchor: libwebp version mismatch");
    picture.width = image.width;
    picture.height = image.height;
    WebPMemoryWriter writer;
    WebPMemoryWriterInit(&writer);
    picture.writer = WebPMemoryWrite;
    picture.custom_ptr = &writer;
    const bool ok =
        WebPPictureImportRGB(&picture, image.rgb.data(), image.width * 3) && WebPEncode(&config, &picture);
    const int error = picture.error_code;
    WebPPictureFree(&picture);
    std::vector<uint8_t> bytes(writer.mem, writer.mem + writer.size);
    WebPMemoryWriterClear(&writer);
    if (!ok) throw BenchError("WebP anchor: libwebp failed with error code " + std::to_string(error));
    return bytes;
  }
};
#endif

}  // namespace

Image Anchor::decode(const std::vector<uint8_t>& bytes) const {
  if (decoder) return decoder(bytes);
  return odp::imageio::decode_image(bytes.data(), bytes.size(), name + " anchor output");
}

Anchor make_jpeg_anchor() {
  Anchor anchor{"jpeg", {}, nullptr};  // decoded by codec's image reader
  anchor.modes.push_back(std::make_unique<JpegMode>(true));
  anchor.modes.push_back(std::make_unique<JpegMode>(false));
  return anchor;
}

Anchor make_webp_anchor() {
#ifdef ODP_HAVE_WEBP
  Anchor anchor{"webp", {}, nullptr};
  anchor.modes.push_back(std::make_unique<WebpMode>());
  return anchor;
#else
  throw BenchError("WebP anchor: this build has no libwebp (install libwebp-dev and reconfigure)");
#endif
}

std::vector<std::string> available_anchors() {
  std::vector<std::string> names = {"jpeg"};
#ifdef ODP_HAVE_WEBP
  names.push_back("webp");
#endif
  if (avif_anchor_available()) names.push_back("avif");
#ifdef ODP_HAVE_JXL
  names.push_back("jxl");
#endif
  return names;
}

Anchor make_anchor(const std::string& name) {
  if (name == "jpeg") return make_jpeg_anchor();
  if (name == "webp") return make_webp_anchor();
  if (name == "avif") return make_avif_anchor();
  if (name == "jxl") return make_jxl_anchor();
  throw BenchError("unknown anchor '" + name + "' (known: jpeg, webp, avif, jxl)");
}

const std::vector<double>& default_divisors() {
  static const std::vector<double> divisors = {1, 2, 3, 4, 6, 8, 16, 32};
  return divisors;
}

std::string divisor_label(double divisor) {
  if (divisor == 1) return "1";
  return "1/" + std::to_string(static_cast<int>(std::lround(divisor)));
}

std::string Candidate::setting(const Anchor& anchor) const {
  return "q=" + std::to_string(quality) + " " + divisor_label(divisor) + " " + anchor.modes.at(mode)->name();
}

AnchorSearch::AnchorSearch(const Anchor& anchor, const Image& original, std::vector<double> divisors)
    : anchor_(anchor), original_(original), divisors_(std::move(divisors)) {
  require_same_size(original, original, "anchor search");
  scaled_.resize(divisors_.size());
  scale_ms_.assign(divisors_.size(), 0);
}

const Image& AnchorSearch::scaled(int scale_index) {
  auto& slot = scaled_[scale_index];
  if (!slot) {
    int w = 0, h = 0;
    scaled_size(original_.width, original_.height, divisors_[scale_index], &w, &h);
    const auto start = std::chrono::steady_clock::now();
    slot = resize_bicubic(original_, w, h);
    scale_ms_[scale_index] = elapsed_ms(start);
  }
  return *slot;
}

Candidate& AnchorSearch::probe(int scale_index, int mode, int quality) {
  const Key key{scale_index, mode, quality};
  auto found = cache_.find(key);
  if (found != cache_.end()) return found->second;
  const Image& input = scaled(scale_index);
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> bytes = anchor_.modes[mode]->encode(input, quality);
  Candidate c;
  c.divisor = divisors_[scale_index];
  c.mode = mode;
  c.quality = quality;
  c.bytes = bytes.size();
  c.psnr = std::numeric_limits<double>::quiet_NaN();
  c.encode_ms = elapsed_ms(start) + scale_ms_[scale_index];
  last_key_ = key;
  last_bytes_ = std::move(bytes);
  return cache_.emplace(key, c).first->second;
}

Candidate& AnchorSearch::measured(int scale_index, int mode, int quality) {
  Candidate& c = probe(scale_index, mode, quality);
  if (std::isnan(c.psnr)) {
    const Image decoded = reconstruct(c);
    c.psnr = psnr_rgb(original_, decoded);
  }
  return c;
}

Image AnchorSearch::reconstruct(const Candidate& candidate) {
  int scale_index = 0;
  while (scale_index + 1 < static_cast<int>(divisors_.size()) && divisors_[scale_index] != candidate.divisor)
    ++scale_index;
  const Key key{scale_index, candidate.mode, candidate.quality};
  if (key < last_key_ || last_key_ < key) {
    last_bytes_ = anchor_.modes[candidate.mode]->encode(scaled(scale_index), candidate.quality);
    last_key_ = key;
  }
  const std::vector<uint8_t>& bytes = last_bytes_;
  const auto start = std::chrono::steady_clock::now();
  Image decoded = anchor_.decode(bytes);
  Image full = resize_bicubic(decoded, original_.width, original_.height);
  const double ms = elapsed_ms(start);
  auto found = cache_.find(key);
  if (found != cache_.end()) found->second.decode_ms = ms;
  return full;
}

std::optional<Candidate> AnchorSearch::best_within(uint64_t budget) {
  std::optional<Candidate> best;
  for (int s = 0; s < static_cast<int>(divisors_.size()); ++s)
    for (int m = 0; m < static_cast<int>(anchor_.modes.size()); ++m) {
      int lo = anchor_.modes[m]->min_quality(), hi = 100;
      if (probe(s, m, lo).bytes > budget) continue;
      while (lo < hi) {  // largest quality that fits
        const int mid = (lo + hi + 1) / 2;
        if (probe(s, m, mid).bytes <= budget)
          lo = mid;
        else
          hi = mid - 1;
      }
      const Candidate& c = measured(s, m, lo);
      if (!best || c.psnr > best->psnr) best = c;
    }
  return best;
}

std::optional<Candidate> AnchorSearch::smallest_reaching(double target_psnr) {
  std::optional<Candidate> best;
  for (int s = 0; s < static_cast<int>(divisors_.size()); ++s)
    for (int m = 0; m < static_cast<int>(anchor_.modes.size()); ++m) {
      int lo = anchor_.modes[m]->min_quality(), hi = 100;
      if (measured(s, m, hi).psnr < target_psnr) continue;
      while (lo < hi) {  // smallest quality that reaches the target
        const int mid = (lo + hi) / 2;
        if (measured(s, m, mid).psnr >= target_psnr)
          hi = mid;
        else
          lo = mid + 1;
      }
      const Candidate& c = measured(s, m, lo);
      if (!best || c.bytes < best->bytes) best = c;
    }
  return best;
}

}  // namespace odp::bench
