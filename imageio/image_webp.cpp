// WebP through libwebp (+ demux/mux for the ICC and EXIF chunks); left out when built without libwebp.
#include "imageio/image_formats.h"

#ifdef ODP_HAVE_WEBP
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <cstring>
#include <memory>
#endif

namespace odp::imageio::detail {

#ifdef ODP_HAVE_WEBP
namespace {

std::vector<uint8_t> read_chunk(WebPDemuxer* demuxer, const char* fourcc) {
  WebPChunkIterator chunk;
  std::vector<uint8_t> bytes;
  if (WebPDemuxGetChunk(demuxer, fourcc, 1, &chunk)) {
    bytes.assign(chunk.chunk.bytes, chunk.chunk.bytes + chunk.chunk.size);
    WebPDemuxReleaseChunkIterator(&chunk);
  }
  return bytes;
}

// An animated WebP: its first frame composited on the canvas, with a warning (as an animated PNG or GIF).
Image decode_first_frame(const uint8_t* data, size_t size, const std::string& name,
                         const ReadOptions& options) {
  WebPData whole = {data, size};
  WebPAnimDecoderOptions decoder_options;
  if (!WebPAnimDecoderOptionsInit(&decoder_options))
    throw Error(name + ": the WebP library is too old for animated WebP");
  decoder_options.color_mode = MODE_RGBA;
  decoder_options.use_threads = 0;
  std::unique_ptr<WebPAnimDecoder, void (*)(WebPAnimDecoder*)> decoder(
      WebPAnimDecoderNew(&whole, &decoder_options), WebPAnimDecoderDelete);
  WebPAnimInfo info;
  if (!decoder || !WebPAnimDecoderGetInfo(decoder.get(), &info))
    throw Error(name + ": corrupt animated WebP (cannot read its frames)");
  check_dimensions(info.canvas_width, info.canvas_height, options, name);
  uint8_t* frame = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(decoder.get(), &frame, &timestamp) || !frame)
    throw Error(name + ": corrupt animated WebP (its first frame does not decode)");
  Image image;
  image.width = static_cast<int>(info.canvas_width);
  image.height = static_cast<int>(info.canvas_height);
  if (info.frame_count > 1)
    image.warnings.push_back("animated WebP (" + std::to_string(info.frame_count) +
                             " frames): encoded the first frame only");
  image.icc = read_chunk(const_cast<WebPDemuxer*>(WebPAnimDecoderGetDemuxer(decoder.get())), "ICCP");
  store_samples(image, frame, 4, options, name);
  return image;
}

}  // namespace

Image decode_webp(const uint8_t* data, size_t size, const std::string& name, const ReadOptions& options) {
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(data, size, &features) != VP8_STATUS_OK)
    throw Error(name + ": corrupt or unsupported WebP (cannot read its header)");
  check_dimensions(static_cast<uint64_t>(features.width), static_cast<uint64_t>(features.height), options,
                   name);
  if (features.has_animation) return decode_first_frame(data, size, name, options);
  Image image;
  image.width = features.width;
  image.height = features.height;
  const int channels = features.has_alpha ? 4 : 3;
  std::vector<uint8_t> samples(static_cast<size_t>(image.width) * image.height * channels);
  const int stride = image.width * channels;
  uint8_t* decoded = features.has_alpha
                         ? WebPDecodeRGBAInto(data, size, samples.data(), samples.size(), stride)
                         : WebPDecodeRGBInto(data, size, samples.data(), samples.size(), stride);
  if (!decoded) throw Error(name + ": corrupt or truncated WebP (the image data does not decode)");
  WebPData whole = {data, size};
  std::unique_ptr<WebPDemuxer, void (*)(WebPDemuxer*)> demuxer(WebPDemux(&whole), WebPDemuxDelete);
  if (demuxer) {
    image.icc = read_chunk(demuxer.get(), "ICCP");
    image.exif = read_chunk(demuxer.get(), "EXIF");
    static const uint8_t kExifPrefix[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (image.exif.size() > 6 && std::memcmp(image.exif.data(), kExifPrefix, 6) == 0)
      image.exif.erase(image.exif.begin(), image.exif.begin() + 6);
  }
  store_samples(image, samples.data(), channels, options, name);
  return image;
}

std::vector<uint8_t> encode_webp(const Image& image, int quality) {
  uint8_t* encoded = nullptr;
  size_t size = WebPEncodeRGB(image.rgb.data(), image.width, image.height, image.width * 3,
                              static_cast<float>(quality), &encoded);
  if (size == 0)
    throw Error("cannot encode WebP (the image may exceed WebP's 16383-pixel limit)", ErrorKind::kUsage);
  std::vector<uint8_t> bytes(encoded, encoded + size);
  WebPFree(encoded);
  if (image.icc.empty() && image.exif.empty()) return bytes;
  std::unique_ptr<WebPMux, void (*)(WebPMux*)> mux(WebPMuxNew(), WebPMuxDelete);
  WebPData bitstream = {bytes.data(), bytes.size()};
  WebPData icc = {image.icc.data(), image.icc.size()};
  WebPData exif = {image.exif.data(), image.exif.size()};
  WebPData assembled = {nullptr, 0};
  bool ok = mux && WebPMuxSetImage(mux.get(), &bitstream, 1) == WEBP_MUX_OK &&
            (image.icc.empty() || WebPMuxSetChunk(mux.get(), "ICCP", &icc, 1) == WEBP_MUX_OK) &&
            (image.exif.empty() || WebPMuxSetChunk(mux.get(), "EXIF", &exif, 1) == WEBP_MUX_OK) &&
            WebPMuxAssemble(mux.get(), &assembled) == WEBP_MUX_OK;
  if (!ok) throw Error("cannot add the ICC profile/EXIF to the WebP file", ErrorKind::kIo);
  std::vector<uint8_t> with_metadata(assembled.bytes, assembled.bytes + assembled.size);
  WebPDataClear(&assembled);
  return with_metadata;
}

#else

Image decode_webp(const uint8_t*, size_t, const std::string& name, const ReadOptions&) {
  throw Error(name + ": this build of odp has no WebP support (libwebp was not found when it was built)");
}

std::vector<uint8_t> encode_webp(const Image&, int) {
  throw Error("this build of odp has no WebP support; write .png or .ppm instead", ErrorKind::kUsage);
}

#endif

}  // namespace odp::imageio::detail
