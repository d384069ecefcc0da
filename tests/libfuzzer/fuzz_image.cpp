// libFuzzer target for the image readers (PNG, JPEG, WebP, PNM, dispatched on the signature as odpenc does)
// and EXIF orientation: every input ends in an image within the limits or in imageio::Error, never a crash,
// leak (LeakSanitizer: the PNG reader's longjmp) or a buffer larger than the limits allow.
#include "fuzz_image_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  odp::imageio::fuzz::decode_one(data, size);
  return 0;
}
