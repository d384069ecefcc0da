// The AVIF anchor: lossy AVIF through libavif in memory (encoder libaom when libavif has it), and its
// decoder.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>

#include "bench/anchors.h"
#include "bench/metrics.h"

#ifdef ODP_HAVE_AVIF
#include <avif/avif.h>
#endif

namespace odp::bench {

#ifdef ODP_HAVE_AVIF
namespace {

// Encoder speed 6 (0 slowest .. 10 fastest; avifenc's default), as the search makes ~230 encodes per image.
// On 4 eval photos at 378-1500 bytes, speed 4 searched 4.4x as long for at most +0.2 dB, and libaom's own
// default (AVIF_SPEED_DEFAULT) 34x as long for at most +0.3 dB.
constexpr int kAvifSpeed = 6;

struct AvifDeleter {
  void operator()(avifImage* p) const { avifImageDestroy(p); }
  void operator()(avifEncoder* p) const { avifEncoderDestroy(p); }
  void operator()(avifDecoder* p) const { avifDecoderDestroy(p); }
};
template <typename T>
using AvifPtr = std::unique_ptr<T, AvifDeleter>;

void check(avifResult result, const char* what) {
  if (result != AVIF_RESULT_OK)
    throw BenchError(std::string("AVIF anchor: ") + what + ": " + avifResultToString(result));
}

// libaom when libavif was built with it, else whichever AV1 encoder libavif has (rav1e, SVT-AV1).
avifCodecChoice encoder_choice() {
  return avifCodecName(AVIF_CODEC_CHOICE_AOM, AVIF_CODEC_FLAG_CAN_ENCODE) ? AVIF_CODEC_CHOICE_AOM
                                                                          : AVIF_CODEC_CHOICE_AUTO;
}

// Quality 0..100 becomes one AV1 quantizer 0..63 as libavif 1.x maps its `quality` (libavif 0.11 has only
// the quantizers): q = round((100 - quality) * 63 / 100), the same for min and max, full-range BT.601 YUV.
class AvifMode : public AnchorMode {
 public:
  explicit AvifMode(avifPixelFormat format) : format_(format) {}
  std::string name() const override { return format_ == AVIF_PIXEL_FORMAT_YUV420 ? "420" : "444"; }
  int min_quality() const override { return 0; }

  std::vector<uint8_t> encode(const Image& image, int quality) const override {
    AvifPtr<avifImage> yuv(avifImageCreate(image.width, image.height, 8, format_));
    if (!yuv) throw BenchError("AVIF anchor: out of memory");
    avifRGBImage rgb;
    avifRGBImageSetDefaults(&rgb, yuv.get());
    rgb.format = AVIF_RGB_FORMAT_RGB;
    rgb.depth = 8;
    rgb.pixels = const_cast<uint8_t*>(image.rgb.data());
    rgb.rowBytes = static_cast<uint32_t>(image.width) * 3;
    check(avifImageRGBToYUV(yuv.get(), &rgb), "RGB to YUV");

    AvifPtr<avifEncoder> encoder(avifEncoderCreate());
    if (!encoder) throw BenchError("AVIF anchor: out of memory");
    encoder->codecChoice = encoder_choice();
    encoder->speed = kAvifSpeed;
    encoder->maxThreads = 1;  // like the other anchors: one thread, comparable encode times
    encoder->minQuantizer = encoder->maxQuantizer = ((100 - quality) * 63 + 50) / 100;
    avifRWData output = AVIF_DATA_EMPTY;
    const avifResult result = avifEncoderWrite(encoder.get(), yuv.get(), &output);
    std::vector<uint8_t> bytes(output.data, output.data + output.size);
    avifRWDataFree(&output);
    check(result, "encoding failed");
    return bytes;
  }

 private:
  avifPixelFormat format_;
};

Image decode_avif(const std::vector<uint8_t>& bytes) {
  AvifPtr<avifDecoder> decoder(avifDecoderCreate());
  AvifPtr<avifImage> yuv(avifImageCreateEmpty());
  if (!decoder || !yuv) throw BenchError("AVIF anchor: out of memory");
  check(avifDecoderReadMemory(decoder.get(), yuv.get(), bytes.data(), bytes.size()), "decoding failed");
  avifRGBImage rgb;
  avifRGBImageSetDefaults(&rgb, yuv.get());
  rgb.format = AVIF_RGB_FORMAT_RGB;
  rgb.depth = 8;
  avifRGBImageAllocatePixels(&rgb);
  const avifResult result = avifImageYUVToRGB(yuv.get(), &rgb);
  Image image;
  if (result == AVIF_RESULT_OK) {
    image.width = static_cast<int>(rgb.width);
    image.height = static_cast<int>(rgb.height);
    image.rgb.resize(static_cast<size_t>(image.width) * image.height * 3);
    for (int y = 0; y < image.height; ++y)
      std::copy_n(rgb.pixels + static_cast<size_t>(y) * rgb.rowBytes, static_cast<size_t>(image.width) * 3,
                  image.rgb.begin() + static_cast<ptrdiff_t>(y) * image.width * 3);
  }
  avifRGBImageFreePixels(&rgb);
  check(result, "YUV to RGB");
  return image;
}

}  // namespace
#endif

bool avif_anchor_available() {
#ifdef ODP_HAVE_AVIF
  return avifCodecName(AVIF_CODEC_CHOICE_AUTO, AVIF_CODEC_FLAG_CAN_ENCODE) != nullptr;
#else
  return false;
#endif
}

Anchor make_avif_anchor() {
#ifdef ODP_HAVE_AVIF
  if (!avif_anchor_available())
    throw BenchError("AVIF anchor: this libavif has no AV1 encoder (libaom, rav1e or SVT-AV1)");
  Anchor anchor{"avif", {}, decode_avif};
  anchor.modes.push_back(std::make_unique<AvifMode>(AVIF_PIXEL_FORMAT_YUV420));
  anchor.modes.push_back(std::make_unique<AvifMode>(AVIF_PIXEL_FORMAT_YUV444));
  return anchor;
#else
  throw BenchError("AVIF anchor: this build has no libavif (install libavif-dev and reconfigure)");
#endif
}

}  // namespace odp::bench
