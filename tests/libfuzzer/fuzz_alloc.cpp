// libFuzzer target in the style of dav1d's allocation fuzzing: global operator new throws std::bad_alloc
// after a count taken from the first two input bytes; read() must end in FormatError or a clean bad_alloc
// (ASan reports any leak or bad access on the unwinding path).
#include <new>

#include "failing_new.h"
#include "fuzz_common.h"

using namespace odp::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const unsigned budget = data[0] | (data[1] << 8);
  data += 2, size -= 2;
  const FrequencyTables tables = fuzz::tables_for_input(data, size);
  failing_armed = true;
  allocations_before_failure = budget;
  try {
    summarize(data, size, fuzz::fuzz_limits());
    read(data, size, tables, fuzz::fuzz_limits());
  } catch (const FormatError&) {
  } catch (const std::bad_alloc&) {
  }
  failing_armed = false;
  return 0;
}
