// libFuzzer target: summarize() and read() on arbitrary bytes must return or throw FormatError, nothing else.
#include "fuzz_common.h"

using namespace odp::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const FrequencyTables tables = fuzz::tables_for_input(data, size);
  try {
    const Summary summary = summarize(data, size, fuzz::fuzz_limits());
    ODP_FUZZ_CHECK(summary.header_bytes <= size);
    const Image image = read(data, size, tables, fuzz::fuzz_limits());
    ODP_FUZZ_CHECK(image.tile_tokens.size() == summary.tokens_per_tile.size());
    ODP_FUZZ_CHECK(image.was_cut == summary.payload_cut);
  } catch (const FormatError&) {
  }
  return 0;
}
