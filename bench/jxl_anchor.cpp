// The JPEG XL anchor: lossy JPEG XL (VarDCT) through libjxl in memory, and its decoder.
#include <algorithm>
#include <string>

#include "bench/anchors.h"
#include "bench/metrics.h"

#ifdef ODP_HAVE_JXL
#include <jxl/decode_cxx.h>
#include <jxl/encode_cxx.h>
#endif

namespace odp::bench {

#ifdef ODP_HAVE_JXL
namespace {

// libjxl's default effort (7, "squirrel", of 1 fastest .. 9 slowest); small images encode in milliseconds.
constexpr int kJxlEffort = 7;
// libjxl 0.7 accepts Butteraugli distances up to 15 (later versions up to 25).
constexpr double kJxlMaxDistance = 15;

void check(JxlEncoderStatus status, const char* what) {
  if (status != JXL_ENC_SUCCESS) throw BenchError(std::string("JPEG XL anchor: ") + what + " failed");
}

// Quality 0..100 to Butteraugli distance as cjxl -q and libjxl 0.9's JxlEncoderDistanceFromQuality map it
// (q 90 -> 1.0, q 30 -> 6.4), capped at 15: below quality 10 every setting would be the same.
double distance_from_quality(int quality) {
  const double q = quality;
  const double d = q >= 30 ? 0.1 + (100 - q) * 0.09 : 53.0 / 3000 * q * q - 23.0 / 20 * q + 25;
  return std::min(d, kJxlMaxDistance);
}

class JxlMode : public AnchorMode {
 public:
  std::string name() const override { return "e" + std::to_string(kJxlEffort); }
  int min_quality() const override { return 10; }

  std::vector<uint8_t> encode(const Image& image, int quality) const override {
    JxlEncoderPtr encoder = JxlEncoderMake(nullptr);
    if (!encoder) throw BenchError("JPEG XL anchor: out of memory");
    // A bare codestream (a valid .jxl file): the ISOBMFF container would add 40 bytes and nothing we use.
    check(JxlEncoderUseContainer(encoder.get(), JXL_FALSE), "choosing the bare codestream");
    JxlBasicInfo info;
    JxlEncoderInitBasicInfo(&info);
    info.xsize = static_cast<uint32_t>(image.width);
    info.ysize = static_cast<uint32_t>(image.height);
    info.bits_per_sample = 8;
    info.num_color_channels = 3;
    info.uses_original_profile = JXL_FALSE;  // lossy: XYB
    check(JxlEncoderSetBasicInfo(encoder.get(), &info), "setting the image size");
    JxlColorEncoding color;
    JxlColorEncodingSetToSRGB(&color, JXL_FALSE);
    check(JxlEncoderSetColorEncoding(encoder.get(), &color), "setting sRGB");
    JxlEncoderFrameSettings* settings = JxlEncoderFrameSettingsCreate(encoder.get(), nullptr);
    check(JxlEncoderFrameSettingsSetOption(settings, JXL_ENC_FRAME_SETTING_EFFORT, kJxlEffort),
          "setting effort");
    // libjxl 0.7 codes the DC as a separate progressive pass at distances above about 4.5: ~25 more bytes of
    // headers, and size jumps down as quality rises past it. Off, on 10 eval photos: 72-byte budgets reached
    // (on: none), +0.8 dB at 116 bytes, +0.2 dB at 378.
    check(JxlEncoderFrameSettingsSetOption(settings, JXL_ENC_FRAME_SETTING_PROGRESSIVE_DC, 0),
          "turning progressive DC off");
    check(JxlEncoderSetFrameDistance(settings, static_cast<float>(distance_from_quality(quality))),
          "setting the distance");
    const JxlPixelFormat format{3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
    check(JxlEncoderAddImageFrame(settings, &format, image.rgb.data(), image.rgb.size()), "adding the image");
    JxlEncoderCloseInput(encoder.get());

    std::vector<uint8_t> bytes(4096);
    size_t used = 0;
    for (;;) {
      uint8_t* next = bytes.data() + used;
      size_t available = bytes.size() - used;
      const JxlEncoderStatus status = JxlEncoderProcessOutput(encoder.get(), &next, &available);
      used = static_cast<size_t>(next - bytes.data());
      if (status != JXL_ENC_NEED_MORE_OUTPUT) {
        check(status, "encoding");
        break;
      }
      bytes.resize(bytes.size() * 2);
    }
    bytes.resize(used);
    return bytes;
  }
};

Image decode_jxl(const std::vector<uint8_t>& bytes) {
  JxlDecoderPtr decoder = JxlDecoderMake(nullptr);
  if (!decoder) throw BenchError("JPEG XL anchor: out of memory");
  const auto fail = [](const char* what) { return BenchError(std::string("JPEG XL anchor: ") + what); };
  if (JxlDecoderSubscribeEvents(decoder.get(), JXL_DEC_BASIC_INFO | JXL_DEC_FULL_IMAGE) != JXL_DEC_SUCCESS ||
      JxlDecoderSetInput(decoder.get(), bytes.data(), bytes.size()) != JXL_DEC_SUCCESS)
    throw fail("decoder setup failed");
  JxlDecoderCloseInput(decoder.get());
  const JxlPixelFormat format{3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
  Image image;
  for (;;) {
    switch (JxlDecoderProcessInput(decoder.get())) {
      case JXL_DEC_BASIC_INFO: {
        JxlBasicInfo info;
        if (JxlDecoderGetBasicInfo(decoder.get(), &info) != JXL_DEC_SUCCESS) throw fail("bad header");
        image.width = static_cast<int>(info.xsize);
        image.height = static_cast<int>(info.ysize);
        break;
      }
      case JXL_DEC_NEED_IMAGE_OUT_BUFFER: {
        size_t size = 0;
        if (JxlDecoderImageOutBufferSize(decoder.get(), &format, &size) != JXL_DEC_SUCCESS ||
            size != static_cast<size_t>(image.width) * image.height * 3)
          throw fail("unexpected output buffer size");
        image.rgb.resize(size);
        if (JxlDecoderSetImageOutBuffer(decoder.get(), &format, image.rgb.data(), size) != JXL_DEC_SUCCESS)
          throw fail("output buffer refused");
        break;
      }
      case JXL_DEC_FULL_IMAGE:
        break;
      case JXL_DEC_SUCCESS:
        if (image.rgb.empty()) throw fail("no image in the file");
        return image;
      case JXL_DEC_NEED_MORE_INPUT:
        throw fail("file cut short");
      default:
        throw fail("decoding failed");
    }
  }
}

}  // namespace
#endif

Anchor make_jxl_anchor() {
#ifdef ODP_HAVE_JXL
  Anchor anchor{"jxl", {}, decode_jxl};
  anchor.modes.push_back(std::make_unique<JxlMode>());
  return anchor;
#else
  throw BenchError("JPEG XL anchor: this build has no libjxl (install libjxl-dev and reconfigure)");
#endif
}

}  // namespace odp::bench
