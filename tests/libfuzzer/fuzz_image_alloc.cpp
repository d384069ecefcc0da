// libFuzzer target for the image readers in the style of fuzz_alloc: global operator new throws
// std::bad_alloc after a count taken from the first two input bytes; decoding must end in an image, an
// imageio::Error or a clean bad_alloc (ASan reports any leak or bad access on the unwinding path, including
// unwinding across libpng's and libjpeg's setjmp frames). libpng and libjpeg allocate with malloc, which is
// not failed here.
#include <cstdlib>
#include <new>

#include "fuzz_image_common.h"

namespace {
bool failing_armed = false;  // only the code under test sees failures, not libFuzzer itself
unsigned allocations_before_failure = 0;
}  // namespace

void* operator new(size_t size) {
  if (failing_armed) {
    if (allocations_before_failure == 0) throw std::bad_alloc();
    --allocations_before_failure;
  }
  if (void* memory = std::malloc(size ? size : 1)) return memory;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return ::operator new(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(size);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept { return ::operator new(size, tag); }
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, size_t) noexcept { std::free(memory); }

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
