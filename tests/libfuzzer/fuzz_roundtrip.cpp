// libFuzzer target: an input that reads must re-write to a file that reads back the same and re-writes
// byte-identically (a whole version 2 file without metadata: to the input itself, the format being
// canonical); cuts and truncate_to_bytes of that file must give token-major prefixes of it.
#include <algorithm>

#include "fuzz_common.h"

using namespace odp::format;

namespace {

// `part` must hold exactly the first N tokens of `whole` in payload (token-major) order.
void check_token_major_prefix(const TokenFile& whole, const TokenFile& part) {
  ODP_FUZZ_CHECK(part.tile_tokens == test::token_major_prefix(whole, test::total_tokens(part)).tile_tokens);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const FrequencyTables tables = fuzz::tables_for_input(data, size);
  TokenFile image;
  try {
    image = read(data, size, tables, fuzz::fuzz_limits());
  } catch (const FormatError&) {
    return 0;
  }
  if (image.was_cut) {
    const Summary summary = summarize(data, size, fuzz::fuzz_limits());
    TokenFile declared = image;  // same tokens, counts as declared: the cut must be its token-major prefix
    for (size_t t = 0; t < declared.tile_tokens.size(); ++t)
      declared.tile_tokens[t].resize(summary.tokens_per_tile[t]);
    check_token_major_prefix(declared, image);
    return 0;
  }
  const std::vector<uint8_t> file = write(image, tables);
  // Version 2 has one encoding per image; zstd chunks are the exception (encoders differ), and so are the
  // earlier writers' forms (spec 3.3, 4, 5.2): a size in two leb128 that size form 3 holds, counts one byte
  // per tile that the packed form holds in fewer, a coded size in a longer form than the one-tile or a scale
  // form; read, and rewritten shorter with the same payload.
  if (image.header.version == 2 && image.metadata.empty() &&
      file != std::vector<uint8_t>(data, data + size)) {
    const Summary input = summarize(data, size, fuzz::fuzz_limits()),
                  output = summarize(file.data(), file.size());
    const bool size_form_2 = (data[2] & 3) == 2;         // flags bits 0-1 of the input
    const bool per_tile_counts = (data[2] & 0x20) != 0;  // flags bit 5
    ODP_FUZZ_CHECK(size_form_2 || per_tile_counts || image.header.grid_width() != image.header.width ||
                   image.header.grid_height() != image.header.height);
    ODP_FUZZ_CHECK(output.header_bytes < input.header_bytes && output.payload_bytes == input.payload_bytes);
    ODP_FUZZ_CHECK(
        std::equal(file.end() - output.payload_bytes, file.end(), data + size - input.payload_bytes));
  }
  const TokenFile again = read(file.data(), file.size(), tables, fuzz::fuzz_limits());
  ODP_FUZZ_CHECK(again.tile_tokens == image.tile_tokens && !again.was_cut);
  ODP_FUZZ_CHECK(write(again, tables) == file);

  const size_t cut = size ? data[size - 1] * file.size() / 255 : 0;  // a cut offset chosen by the input
  try {
    check_token_major_prefix(image, read(file.data(), cut, tables, fuzz::fuzz_limits()));
  } catch (const FormatError&) {
    ODP_FUZZ_CHECK(cut < summarize(file.data(), file.size()).header_bytes);
  }
  try {
    const std::vector<uint8_t> truncated = truncate_to_bytes(image, cut, tables);
    ODP_FUZZ_CHECK(truncated.size() <= cut);
    check_token_major_prefix(image, read(truncated.data(), truncated.size(), tables, fuzz::fuzz_limits()));
  } catch (const FormatError&) {
    ODP_FUZZ_CHECK(write(truncate_tokens(image, 1), tables).size() > cut);
  }
  return 0;
}
