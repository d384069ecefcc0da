// libFuzzer target: summarize(), read_payload() and read() on arbitrary bytes (versions 1 and 2) must return
// or throw FormatError, nothing else, and agree with each other.
#include <optional>
#include <string>
#include <vector>

#include "fuzz_common.h"

using namespace odp::format;

namespace {

// What one way of reading gave: the file, or the FormatError's message.
struct Outcome {
  std::optional<TokenFile> file;
  std::string error;
};

template <typename Read>
Outcome outcome_of(Read&& read_file) {
  try {
    return {read_file(), {}};
  } catch (const FormatError& error) {
    return {std::nullopt, error.what()};
  }
}

bool same_file(const TokenFile& a, const TokenFile& b) {
  if (a.metadata.size() != b.metadata.size()) return false;
  for (size_t i = 0; i < a.metadata.size(); ++i) {
    if (a.metadata[i].tag != b.metadata[i].tag || a.metadata[i].bytes != b.metadata[i].bytes) return false;
  }
  return a.header.version == b.header.version && a.header.width == b.header.width &&
         a.header.height == b.header.height && a.header.grid_width() == b.header.grid_width() &&
         a.header.grid_height() == b.header.grid_height() && a.header.model_id == b.header.model_id &&
         a.header.flat_tiles.size() == b.header.flat_tiles.size() && a.tile_tokens == b.tile_tokens &&
         a.was_cut == b.was_cut;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const FrequencyTables tables = fuzz::tables_for_input(data, size);
  const Outcome one_shot = outcome_of([&] { return read(data, size, tables, fuzz::fuzz_limits()); });
  std::optional<Summary> summary;
  try {
    summary = summarize(data, size, fuzz::fuzz_limits());
  } catch (const FormatError&) {
    ODP_FUZZ_CHECK(!one_shot.file);  // a header read() accepts, summarize() accepts too
    return 0;
  }
  ODP_FUZZ_CHECK(summary->header_bytes <= size);
  // The two-step read, on a copy of the bytes: a summary holds no pointer into the bytes it was made from.
  const std::vector<uint8_t> copy(data, data + size);
  const Outcome two_step =
      outcome_of([&] { return read_payload(*summary, copy.data(), copy.size(), tables); });
  ODP_FUZZ_CHECK(one_shot.file.has_value() == two_step.file.has_value());
  ODP_FUZZ_CHECK(one_shot.error == two_step.error);
  if (!two_step.file) return 0;
  const TokenFile& image = *two_step.file;
  ODP_FUZZ_CHECK(same_file(image, *one_shot.file));
  ODP_FUZZ_CHECK(image.tile_tokens.size() == summary->tokens_per_tile.size());
  if (summary->cut_known) ODP_FUZZ_CHECK(image.was_cut == summary->payload_cut);
  ODP_FUZZ_CHECK(image.header.version == summary->header.version);
  ODP_FUZZ_CHECK(image.header.version == 1 || image.header.model_id_bits == 16);
  return 0;
}
