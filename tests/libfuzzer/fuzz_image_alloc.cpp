// libFuzzer target for the image readers in the style of fuzz_alloc: global operator new throws
// std::bad_alloc after a count taken from the first two input bytes; decoding must end in an image, an
// imageio::Error or a clean bad_alloc (ASan reports any leak or bad access on the unwinding path, including
// unwinding across libpng's and libjpeg's setjmp frames). libpng and libjpeg allocate with malloc, which is
// not failed here.
#include <new>

#include "failing_new.h"
#include "fuzz_image_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const unsigned budget = data[0] | (data[1] << 8);
  data += 2, size -= 2;
  failing_armed = true;
  allocations_before_failure = budget;
  try {
    odp::imageio::fuzz::decode_one(data, size);
  } catch (const std::bad_alloc&) {
  }
  failing_armed = false;
  return 0;
}
