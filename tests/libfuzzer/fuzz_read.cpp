// libFuzzer target: summarize() and read() on arbitrary bytes (versions 1 and 2) must return or throw
// FormatError, nothing else, and agree with each other.
#include "fuzz_common.h"

using namespace odp::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const FrequencyTables tables = fuzz::tables_for_input(data, size);
  try {
    const Summary summary = summarize(data, size, fuzz::fuzz_limits());
    ODP_FUZZ_CHECK(summary.header_bytes <= size);
    const TokenFile image = read(data, size, tables, fuzz::fuzz_limits());
    ODP_FUZZ_CHECK(image.tile_tokens.size() == summary.tokens_per_tile.size());
    if (summary.cut_known) ODP_FUZZ_CHECK(image.was_cut == summary.payload_cut);
    ODP_FUZZ_CHECK(image.header.version == summary.header.version);
    ODP_FUZZ_CHECK(image.header.version == 1 || image.header.model_id_bits == 16);
  } catch (const FormatError&) {
  }
  return 0;
}
