// libFuzzer target: codec::decode with a tiny random model (limits, tiling, seam evening and filtering, the
// stitcher, upsampling of a downscaled file) on arbitrary bytes: it returns an image of the file's size or
// throws base::Error, nothing else.
#include "fuzz_check.h"
#include "fuzz_codec_common.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Built before the first input, so that LibTorch's one-time allocations are not counted as its leaks.
  odp::fuzz::tiny_model();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const odp::codec::DecodeOptions options = odp::fuzz::options_from_byte(data[0]);
  try {
    const odp::codec::FileInfo info = odp::codec::inspect(data + 1, size - 1);
    const odp::base::Image image = odp::codec::decode(data + 1, size - 1, odp::fuzz::tiny_model(), options);
    ODP_FUZZ_CHECK(image.width == static_cast<int>(info.width));
    ODP_FUZZ_CHECK(image.height == static_cast<int>(info.height));
    ODP_FUZZ_CHECK(image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3);
    ODP_FUZZ_CHECK(uint64_t{info.width} * info.height <= options.limits.max_pixels);
  } catch (const odp::base::Error&) {
  }
  return 0;
}
