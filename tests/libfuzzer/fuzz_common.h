// Shared by the .odp fuzzers: tables for files that ask for them, tight limits, and a hard-failure check.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "../format/format_test_util.h"
#include "fuzz_check.h"
#include "odp_format.h"

namespace odp::format::fuzz {

// Limits small enough that one input runs in milliseconds (the defaults allow 16M-token files).
inline ReadLimits fuzz_limits() {
  ReadLimits limits;
  limits.max_pixels = 1u << 22;
  limits.max_tiles = 1024;
  limits.max_metadata_bytes = 1u << 16;
  return limits;
}

// The tables read() needs for this input (empty when it is not a tabled file or not even a header).
inline FrequencyTables tables_for_input(const uint8_t* data, size_t size) {
  try {
    const Summary summary = summarize(data, size, fuzz_limits());
    if (summary.header.entropy_model == EntropyModel::kPositionTables) {
      return test::skewed_tables(summary.header.codebook_bits, 3);
    }
  } catch (const FormatError&) {
  }
  return {};
}

}  // namespace odp::format::fuzz
