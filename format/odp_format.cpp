// The .odp container: header layout, token-major payload order, shortened-payload recovery and truncation.
// Byte layout and every check here follow spec/odp-format.md section by section.
#include "odp_format.h"

#include <algorithm>
#include <numeric>

#include "format/tile_grid.h"
#include "range_coder.h"
#include "wire.h"

namespace odp::format {

namespace {

constexpr uint8_t kMagic[3] = {'O', 'D', 'P'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kFlagMetadata = 0x01;
constexpr uint8_t kFlagPerTileCounts = 0x02;
constexpr uint8_t kFlagsReserved = 0xFC;
constexpr uint32_t kMaxDimension = 65535;
constexpr int kMinTileLog2 = 4, kMaxTileLog2 = 12;
constexpr int kMaxCodebookBits = 16;
constexpr uint32_t kMaxTokensPerTile = 256;

std::string hex_byte(uint8_t byte) {
  const char* digits = "0123456789ABCDEF";
  return std::string{digits[byte >> 4], digits[byte & 15]};
}

int tile_log2_of(uint32_t tile_size) {
  for (int log2 = kMinTileLog2; log2 <= kMaxTileLog2; ++log2) {
    if (tile_size == (1u << log2)) return log2;
  }
  return -1;
}

// Header checks shared by the writer (on what it is asked to write) and the reader (on what it parsed).
void check_header_values(const Header& header) {
  if (header.width < 1 || header.width > kMaxDimension || header.height < 1 ||
      header.height > kMaxDimension) {
    throw FormatError("field 'width'/'height' = " + std::to_string(header.width) + "x" +
                      std::to_string(header.height) + " out of range (each must be 1..65535)");
  }
  if (tile_log2_of(header.tile_size) < 0) {
    throw FormatError("tile size (field 'tile_log2') " + std::to_string(header.tile_size) +
                      " is not a power of two in 16..4096");
  }
  if (header.tile_overlap >= header.tile_size) {
    throw FormatError("field 'tile_overlap' = " + std::to_string(header.tile_overlap) +
                      " must be below the tile size " + std::to_string(header.tile_size));
  }
  if (header.codebook_bits < 1 || header.codebook_bits > kMaxCodebookBits) {
    throw FormatError("codebook_bits (field 'coding') = " + std::to_string(header.codebook_bits) +
                      " out of range (1..16)");
  }
  if (header.entropy_model != EntropyModel::kUniform &&
      header.entropy_model != EntropyModel::kPositionTables) {
    throw FormatError("entropy model (field 'coding') " +
                      std::to_string(static_cast<int>(header.entropy_model)) +
                      " is reserved (0 uniform, 1 position tables)");
  }
}

bool all_equal(const std::vector<uint16_t>& counts) {
  return std::adjacent_find(counts.begin(), counts.end(), std::not_equal_to<>()) == counts.end();
}

// Calls visit(tile, position) in payload order: all tiles' token 0 (row-major), then token 1, ...
template <typename Visit>
void for_each_token_major(const std::vector<uint16_t>& counts, Visit&& visit) {
  const uint32_t longest = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  for (uint32_t position = 0; position < longest; ++position) {
    for (size_t tile = 0; tile < counts.size(); ++tile) {
      if (counts[tile] > position && !visit(tile, position)) return;
    }
  }
}

int longest_count(const std::vector<uint16_t>& counts) {
  return counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
}

// What the container says, before any entropy decoding.
struct Container {
  Summary summary;
  const uint8_t* payload = nullptr;
  size_t payload_available = 0;
};

Container parse_container(const uint8_t* data, size_t size, const ReadLimits& limits) {
  if (size == 0) throw FormatError("empty input: not an .odp file (0 bytes)");
  wire::ByteReader in(data, size);
  Container parsed;
  Summary& summary = parsed.summary;
  Header& header = summary.header;

  const uint8_t* magic = in.bytes(std::min<size_t>(size, 3), "magic");
  if (size < 3 || !std::equal(kMagic, kMagic + 3, magic)) {
    std::string seen;
    for (size_t i = 0; i < std::min<size_t>(size, 3); ++i) seen += (i ? " " : "") + hex_byte(magic[i]);
    throw FormatError("not an .odp file: magic bytes are " + seen + ", expected 4F 44 50 (\"ODP\")");
  }
  const uint8_t version = in.u8("version");
  if (version != kVersion) {
    throw FormatError("unsupported .odp version " + std::to_string(version) +
                      " (this reader knows version 1)");
  }
  const uint8_t flags = in.u8("flags");
  if (flags & kFlagsReserved) {
    throw FormatError("field 'flags' = 0x" + hex_byte(flags) + ": reserved bits 2-7 must be zero");
  }
  header.width = in.leb128("width");
  header.height = in.leb128("height");
  const uint8_t tile_log2 = in.u8("tile_log2");
  if (tile_log2 < kMinTileLog2 || tile_log2 > kMaxTileLog2) {
    throw FormatError("field 'tile_log2' = " + std::to_string(tile_log2) + ": must be 4..12");
  }
  header.tile_size = 1u << tile_log2;
  header.tile_overlap = in.leb128("tile_overlap");
  header.model_id = in.u32le("model_id");
  const uint8_t coding = in.u8("coding");
  header.codebook_bits = static_cast<uint8_t>((coding & 0x0F) + 1);
  header.entropy_model = static_cast<EntropyModel>(coding >> 4);
  check_header_values(header);
  if (uint64_t{header.width} * header.height > limits.max_pixels) {
    throw FormatError("image " + std::to_string(header.width) + "x" + std::to_string(header.height) +
                      " exceeds the reader's limit of " + std::to_string(limits.max_pixels) + " pixels");
  }

  const uint64_t tile_count = uint64_t{header.tiles_x()} * header.tiles_y();
  if (tile_count > limits.max_tiles) {
    throw FormatError("image needs " + std::to_string(tile_count) +
                      " tiles, more than the reader's limit of " + std::to_string(limits.max_tiles) +
                      " (fields width/height/tile_log2/tile_overlap)");
  }
  if (flags & kFlagPerTileCounts) {
    const uint8_t* counts = in.bytes(tile_count, "token_counts");
    summary.tokens_per_tile.assign(counts, counts + tile_count);
    for (uint16_t& count : summary.tokens_per_tile) ++count;
    if (all_equal(summary.tokens_per_tile)) {
      throw FormatError(
          "field 'token_counts': flags bit 1 is set but all tiles have the same count "
          "(a single count must be used)");
    }
  } else {
    summary.tokens_per_tile.assign(tile_count, static_cast<uint16_t>(in.u8("token_count") + 1));
  }

  if (flags & kFlagMetadata) {
    const size_t metadata_start = in.offset();
    const uint32_t chunk_count = in.leb128("metadata_chunk_count");
    // A chunk takes at least 5 bytes (tag + length), so a count beyond that is refused before allocating.
    if (chunk_count == 0 || chunk_count > in.remaining() / 5) {
      throw FormatError("field 'metadata_chunk_count' = " + std::to_string(chunk_count) +
                        ": must be at least 1 and fit in the " + std::to_string(in.remaining()) +
                        " bytes left");
    }
    uint64_t metadata_total = 0;
    for (uint32_t i = 0; i < chunk_count; ++i) {
      const uint8_t* tag = in.bytes(4, "metadata_tag");
      if (!std::all_of(tag, tag + 4, [](uint8_t c) { return c >= 0x20 && c <= 0x7E; })) {
        throw FormatError("field 'metadata_tag' of chunk " + std::to_string(i) +
                          ": must be 4 printable ASCII characters");
      }
      const uint32_t length = in.leb128("metadata_length");
      metadata_total += length;
      if (metadata_total > limits.max_metadata_bytes) {
        throw FormatError("metadata exceeds the reader's limit of " +
                          std::to_string(limits.max_metadata_bytes) +
                          " bytes (field 'metadata_length' of chunk " + std::to_string(i) + ")");
      }
      const uint8_t* bytes = in.bytes(length, "metadata_bytes");
      summary.metadata.push_back({std::string(tag, tag + 4), std::vector<uint8_t>(bytes, bytes + length)});
    }
    summary.metadata_bytes = in.offset() - metadata_start;
  }

  const uint32_t payload_size = in.leb128("payload_size");
  const uint32_t payload_crc = in.u32le("payload_crc");
  const size_t crc_covered = in.offset();
  const uint32_t header_crc = in.u32le("header_crc");
  if (wire::crc32_of(data, crc_covered) != header_crc) {
    throw FormatError("header CRC mismatch (field 'header_crc' at byte " + std::to_string(crc_covered) +
                      "): the file is corrupted");
  }

  summary.header_bytes = in.offset();
  summary.payload_bytes = payload_size;
  summary.file_bytes = size;
  parsed.payload = data + in.offset();
  if (in.remaining() > payload_size) {
    throw FormatError(std::to_string(in.remaining() - payload_size) + " trailing byte(s) after the " +
                      std::to_string(payload_size) + "-byte payload (field 'payload_size')");
  }
  parsed.payload_available = in.remaining();
  summary.payload_cut = parsed.payload_available < payload_size;
  if (!summary.payload_cut && wire::crc32_of(parsed.payload, payload_size) != payload_crc) {
    throw FormatError("payload CRC mismatch (field 'payload_crc'): the file is corrupted");
  }
  return parsed;
}

// The token counts of the first `prefix` tokens in payload order of an image whose tiles have `counts`.
std::vector<uint16_t> prefix_counts(const std::vector<uint16_t>& counts, uint64_t prefix) {
  std::vector<uint16_t> kept(counts.size(), 0);
  for_each_token_major(counts, [&](size_t tile, uint32_t) {
    if (prefix == 0) return false;
    ++kept[tile];
    --prefix;
    return true;
  });
  return kept;
}

std::vector<uint16_t> counts_of(const Image& image) {
  std::vector<uint16_t> counts;
  counts.reserve(image.tile_tokens.size());
  for (const auto& tokens : image.tile_tokens) counts.push_back(static_cast<uint16_t>(tokens.size()));
  return counts;
}

void check_image(const Image& image) {
  const Header& header = image.header;
  check_header_values(header);
  const uint64_t tile_count = uint64_t{header.tiles_x()} * header.tiles_y();
  if (image.tile_tokens.size() != tile_count) {
    throw FormatError("image has tokens for " + std::to_string(image.tile_tokens.size()) + " tiles, its " +
                      std::to_string(header.width) + "x" + std::to_string(header.height) + " grid needs " +
                      std::to_string(tile_count));
  }
  const uint32_t codebook_size = 1u << header.codebook_bits;
  for (size_t tile = 0; tile < image.tile_tokens.size(); ++tile) {
    const auto& tokens = image.tile_tokens[tile];
    if (tokens.empty() || tokens.size() > kMaxTokensPerTile) {
      throw FormatError("tile " + std::to_string(tile) + " has " + std::to_string(tokens.size()) +
                        " tokens; each tile needs 1..256 (truncate a cut image with truncate_tokens first)");
    }
    for (uint16_t token : tokens) {
      if (token >= codebook_size) {
        throw FormatError("tile " + std::to_string(tile) + " has token " + std::to_string(token) +
                          ", beyond the codebook of " + std::to_string(codebook_size));
      }
    }
  }
  for (const MetadataChunk& chunk : image.metadata) {
    if (chunk.tag.size() != 4 ||
        !std::all_of(chunk.tag.begin(), chunk.tag.end(), [](char c) { return c >= 0x20 && c <= 0x7E; })) {
      throw FormatError("metadata tag '" + chunk.tag + "' must be exactly 4 printable ASCII characters");
    }
    if (chunk.bytes.size() > UINT32_MAX)
      throw FormatError("metadata chunk '" + chunk.tag + "' exceeds 4 GiB");
  }
}

// Serialises header + payload for the tiles' first counts[t] tokens. The image must have passed check_image.
std::vector<uint8_t> write_with_counts(const Image& image, const std::vector<uint16_t>& counts,
                                       const coding::TokenModel& model, bool force_per_tile_counts = false) {
  coding::RangeEncoder encoder;
  for_each_token_major(counts, [&](size_t tile, uint32_t position) {
    encoder.encode(model.interval(static_cast<int>(position), image.tile_tokens[tile][position]));
    return true;
  });
  const std::vector<uint8_t> payload = encoder.finish();

  const Header& header = image.header;
  const bool per_tile_counts = force_per_tile_counts || !all_equal(counts);
  std::vector<uint8_t> out(kMagic, kMagic + 3);
  out.push_back(kVersion);
  out.push_back(static_cast<uint8_t>((image.metadata.empty() ? 0 : kFlagMetadata) |
                                     (per_tile_counts ? kFlagPerTileCounts : 0)));
  wire::put_leb128(out, header.width);
  wire::put_leb128(out, header.height);
  out.push_back(static_cast<uint8_t>(tile_log2_of(header.tile_size)));
  wire::put_leb128(out, header.tile_overlap);
  wire::put_u32le(out, header.model_id);
  out.push_back(
      static_cast<uint8_t>((static_cast<uint8_t>(header.entropy_model) << 4) | (header.codebook_bits - 1)));
  if (per_tile_counts) {
    for (uint16_t count : counts) out.push_back(static_cast<uint8_t>(count - 1));
  } else {
    out.push_back(static_cast<uint8_t>(counts.front() - 1));
  }
  if (!image.metadata.empty()) {
    wire::put_leb128(out, static_cast<uint32_t>(image.metadata.size()));
    for (const MetadataChunk& chunk : image.metadata) {
      out.insert(out.end(), chunk.tag.begin(), chunk.tag.end());
      wire::put_leb128(out, static_cast<uint32_t>(chunk.bytes.size()));
      out.insert(out.end(), chunk.bytes.begin(), chunk.bytes.end());
    }
  }
  if (payload.size() > UINT32_MAX) throw FormatError("payload exceeds 4 GiB");
  wire::put_leb128(out, static_cast<uint32_t>(payload.size()));
  wire::put_u32le(out, wire::crc32_of(payload.data(), payload.size()));
  wire::put_u32le(out, wire::crc32_of(out.data(), out.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace

uint32_t Header::tiles_x() const { return tiles_along(width, tile_size, tile_overlap); }
uint32_t Header::tiles_y() const { return tiles_along(height, tile_size, tile_overlap); }

std::vector<uint8_t> write(const Image& image, const FrequencyTables& tables) {
  check_image(image);
  const std::vector<uint16_t> counts = counts_of(image);
  const coding::TokenModel model(image.header, tables, longest_count(counts));
  return write_with_counts(image, counts, model);
}

Summary summarize(const uint8_t* data, size_t size, const ReadLimits& limits) {
  return parse_container(data, size, limits).summary;
}

Image read(const uint8_t* data, size_t size, const FrequencyTables& tables, const ReadLimits& limits) {
  Container parsed = parse_container(data, size, limits);
  Summary& summary = parsed.summary;
  const std::vector<uint16_t>& counts = summary.tokens_per_tile;
  const coding::TokenModel model(summary.header, tables, longest_count(counts));

  Image image;
  image.header = summary.header;
  image.metadata = std::move(summary.metadata);
  image.was_cut = summary.payload_cut;
  image.tile_tokens.resize(counts.size());
  for (size_t tile = 0; tile < counts.size(); ++tile) image.tile_tokens[tile].reserve(counts[tile]);

  // Decode twice, reading missing bytes as 0x00 and as 0xFF. Decoding is monotone in the stream value, so
  // while the two agree, every possible continuation of the available bytes agrees too (spec: "Shortened
  // payload"). A complete payload must determine every token this way.
  coding::RangeDecoder low_continuation(parsed.payload, parsed.payload_available, 0x00);
  coding::RangeDecoder high_continuation(parsed.payload, parsed.payload_available, 0xFF);
  uint64_t decoded = 0;
  for_each_token_major(counts, [&](size_t tile, uint32_t position) {
    coding::SymbolInterval low_interval, high_interval;
    const int p = static_cast<int>(position);
    const uint16_t token = model.token_at(p, low_continuation.target(), &low_interval);
    if (model.token_at(p, high_continuation.target(), &high_interval) != token) return false;
    low_continuation.consume(low_interval);
    high_continuation.consume(high_interval);
    image.tile_tokens[tile].push_back(token);
    ++decoded;
    return true;
  });
  const uint64_t total = std::accumulate(counts.begin(), counts.end(), uint64_t{0});
  if (!image.was_cut && decoded != total) {
    throw FormatError("payload determines only " + std::to_string(decoded) + " of " + std::to_string(total) +
                      " tokens (field 'payload_size' too small or the encoder did not flush)");
  }
  return image;
}

Image truncate_tokens(const Image& image, int tokens) {
  if (tokens < 1)
    throw FormatError("truncate_tokens: keep at least 1 token per tile (asked for " + std::to_string(tokens) +
                      ")");
  Image truncated = image;
  for (auto& tile : truncated.tile_tokens) {
    if (tile.size() > static_cast<size_t>(tokens)) tile.resize(tokens);
  }
  return truncated;
}

std::vector<uint8_t> truncate_to_bytes(const Image& image, uint64_t max_bytes,
                                       const FrequencyTables& tables) {
  check_image(image);
  const std::vector<uint16_t> counts = counts_of(image);
  const coding::TokenModel model(image.header, tables, longest_count(counts));
  const auto file_for = [&](uint64_t prefix, bool force_per_tile_counts) {
    return write_with_counts(image, prefix_counts(counts, prefix), model, force_per_tile_counts);
  };
  // Largest x in [lo, hi] with fits(x), given fits(lo) and fits monotone (true then false).
  const auto last_fitting = [](uint64_t lo, uint64_t hi, const auto& fits) {
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo + 1) / 2;
      if (fits(mid))
        lo = mid;
      else
        hi = mid - 1;
    }
    return lo;
  };
  const auto layer_prefix = [&](uint64_t layers) {
    uint64_t prefix = 0;
    for (uint16_t count : counts) prefix += std::min<uint64_t>(count, layers);
    return prefix;
  };
  const uint64_t one_per_tile = counts.size();
  const uint64_t smallest = file_for(one_per_tile, false).size();
  if (smallest > max_bytes) {
    throw FormatError("cannot fit " + std::to_string(max_bytes) + " bytes: even 1 token per tile needs " +
                      std::to_string(smallest));
  }
  // File size is monotone in the prefix except that whole layers with equal counts drop the per-tile count
  // bytes. So search whole layers exactly, and all prefixes with the per-tile counts forced (an upper bound
  // that is exact for every prefix that is not a whole equal layer); the longer winner is the answer.
  const uint64_t best_layers = last_fitting(1, longest_count(counts), [&](uint64_t layers) {
    return file_for(layer_prefix(layers), false).size() <= max_bytes;
  });
  uint64_t best = layer_prefix(best_layers);
  if (file_for(one_per_tile, true).size() <= max_bytes) {
    const uint64_t total = layer_prefix(kMaxTokensPerTile);
    best = std::max(best, last_fitting(one_per_tile, total, [&](uint64_t prefix) {
                      return file_for(prefix, true).size() <= max_bytes;
                    }));
  }
  return file_for(best, false);
}

}  // namespace odp::format
