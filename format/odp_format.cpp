// The .odp container, versions 2 and 1: header layouts, token-major payload order, cut-file recovery and
// truncation. Byte layout and every check here follow spec/odp-format.md section by section.
#include "odp_format.h"

#include <zstd.h>

#include <algorithm>
#include <numeric>

#include "format/tile_grid.h"
#include "range_coder.h"
#include "wire.h"

namespace odp::format {

namespace {

// Both versions (spec 2): byte 0 is 'O'; byte 1 is 'D' in version 1, 0x80 + version from version 2 on.
constexpr uint8_t kSignature0 = 0x4F;
constexpr uint8_t kVersion1Byte1 = 0x44;
constexpr uint8_t kVersionBit = 0x80;

// Version 1 (spec 10).
constexpr uint8_t kMagicV1[3] = {'O', 'D', 'P'};
constexpr uint8_t kFlagV1Metadata = 0x01;
constexpr uint8_t kFlagV1PerTileCounts = 0x02;
constexpr uint8_t kFlagsV1Reserved = 0xFC;

// Version 2 (spec 3, 5).
constexpr uint8_t kSizeFormMask = 0x03;
constexpr uint8_t kFlagCoding = 0x04;
constexpr uint8_t kFlagOverlap = 0x08;
constexpr uint8_t kFlagExtensions = 0x10;
constexpr uint8_t kFlagPerTileCounts = 0x20;
constexpr uint8_t kFlagPackedCounts = 0x40;
constexpr uint8_t kFlagsReserved = 0x80;
constexpr uint8_t kExtColour = 0x01;
constexpr uint8_t kExtCodedSize = 0x02;
constexpr uint8_t kExtMetadata = 0x04;
constexpr uint8_t kExtFlatTiles = 0x08;
constexpr uint8_t kExtCodedScale = 0x10;  // coded_size in its one-byte scale form (only with kExtCodedSize)
constexpr uint8_t kExtCodedAxes = 0x20;   // with kExtCodedScale: one q per axis; without: the one-tile form
constexpr uint8_t kExtReserved = 0xC0;
constexpr uint32_t kMinCodedScale = 17, kMaxCodedScale = 255;  // q: the size divided by q / 16
constexpr uint32_t kMinAxisScale = 16;                         // per axis, q = 16 keeps that side
constexpr uint8_t kColourGrey = 0x80;
constexpr uint8_t kChunkStored = 0;
constexpr uint8_t kChunkZstd = 1;
constexpr int kDefaultTileLog2 = 8;
constexpr uint8_t kDefaultCoding = 0x1B;  // 12-bit codebook, position tables: the shipped model
constexpr uint32_t kSmallSide = 256;      // size_form 1 holds sides up to this
constexpr uint32_t kPackedSide = 4096;    // size_form 3 (two 12-bit sides in 3 bytes) holds sides up to this
constexpr int kZstdLevel = 19;  // chunks are small (ICC profiles: 0.5-8 KB); the best ratio is cheap

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

uint8_t coding_byte(const Header& header) {
  return static_cast<uint8_t>((static_cast<uint8_t>(header.entropy_model) << 4) | (header.codebook_bits - 1));
}

void set_coding(Header& header, uint8_t coding) {
  header.codebook_bits = static_cast<uint8_t>((coding & 0x0F) + 1);
  header.entropy_model = static_cast<EntropyModel>(coding >> 4);
}

// spec 3.3: the size_form a writer uses for width x height with tile edge `tile` (a reader also accepts 2
// where this is 3: earlier writers' files).
int size_form_for(uint32_t width, uint32_t height, uint32_t tile) {
  if (width == tile && height == tile) return 0;
  if (width <= kSmallSide && height <= kSmallSide) return 1;
  return width <= kPackedSide && height <= kPackedSide ? 3 : 2;
}

bool has_coded_size(const Header& header) {
  return header.grid_width() != header.width || header.grid_height() != header.height;
}

// spec 5.2, scale form: a side of `length` pixels divided by q / 16, rounded half up, at least 1.
uint32_t coded_scale_side(uint32_t length, uint32_t q) {
  return std::max<uint32_t>(1, (16 * length + q / 2) / q);
}

// The smallest q whose scale form gives the header's coded size, or 0 when none does (two leb128 then).
uint32_t coded_scale_for(const Header& header) {
  for (uint32_t q = kMinCodedScale; q <= kMaxCodedScale; ++q) {
    if (coded_scale_side(header.width, q) == header.grid_width() &&
        coded_scale_side(header.height, q) == header.grid_height())
      return q;
  }
  return 0;
}

// spec 5.2, one-tile form: the coded size it gives, the image squeezed into one tile (each side at most T).
uint32_t one_tile_side(uint32_t length, uint32_t tile) { return std::min(length, tile); }

// Whether the header's coded size is the one-tile form's (and differs from the image size, as any coded
// size must).
bool is_one_tile_coded_size(const Header& header) {
  return has_coded_size(header) && header.grid_width() == one_tile_side(header.width, header.tile_size) &&
         header.grid_height() == one_tile_side(header.height, header.tile_size);
}

// Per axis (spec 5.2, per-axis scale form): the smallest q in 16..255 that gives `coded` from `length`, or 0.
uint32_t axis_scale_for(uint32_t length, uint32_t coded) {
  for (uint32_t q = kMinAxisScale; q <= kMaxCodedScale; ++q)
    if (coded_scale_side(length, q) == coded) return q;
  return 0;
}

// Header checks shared by the writer (on what it is asked to write) and the reader (on what it parsed).
void check_header_values(const Header& header) {
  if (header.version != 1 && header.version != 2) {
    throw FormatError("format version " + std::to_string(header.version) + " cannot be written (1 or 2)");
  }
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
  if (header.colour != ColourSpace::kSrgb && header.colour != ColourSpace::kUnspecified) {
    throw FormatError("colour space (field 'colour') " + std::to_string(static_cast<int>(header.colour)) +
                      " is reserved (0 sRGB, 1 unspecified)");
  }
  if (header.grid_width() > header.width || header.grid_height() > header.height) {
    throw FormatError("field 'coded_size' = " + std::to_string(header.grid_width()) + "x" +
                      std::to_string(header.grid_height()) + " exceeds the image size " +
                      std::to_string(header.width) + "x" + std::to_string(header.height));
  }
  if (header.version == 1 && header.model_id_bits < 32) {
    throw FormatError("format version 1 stores a 32-bit model_id, this header holds only " +
                      std::to_string(header.model_id_bits) + " bits of it (read from version 2?)");
  }
  if (header.version == 1 && has_coded_size(header)) {
    throw FormatError("format version 1 cannot record a coded size (field 'coded_size'); write version 2");
  }
  if (header.version == 1 && !header.flat_tiles.empty()) {
    throw FormatError("format version 1 cannot record flat tiles (field 'flat_tiles'); write version 2");
  }
  for (size_t i = 0; i < header.flat_tiles.size(); ++i) {
    const uint32_t tile = header.flat_tiles[i].tile;
    if (tile >= header.tile_count() || (i > 0 && tile <= header.flat_tiles[i - 1].tile)) {
      throw FormatError("field 'flat_tiles': tile " + std::to_string(tile) + " is not below the tile count " +
                        std::to_string(header.tile_count()) + " or not above the previous entry's");
    }
  }
}

// spec 5.4: count, then per tile the gap to the previous entry and the colour.
void parse_flat_tiles(wire::ByteReader& in, Header& header) {
  const uint64_t tiles = header.tile_count();
  const uint32_t count = in.leb128("flat_tile_count");
  if (count == 0 || count > tiles) {
    throw FormatError("field 'flat_tile_count' = " + std::to_string(count) + ": must be 1.." +
                      std::to_string(tiles) +
                      " (the tile count); ext_flags bit 3 is clear without flat tiles");
  }
  uint64_t next = 0;  // the lowest index the next entry may have
  header.flat_tiles.resize(count);
  for (FlatTile& flat : header.flat_tiles) {
    const uint64_t tile = next + in.leb128("flat_tile_gap");
    if (tile >= tiles) {
      throw FormatError("field 'flat_tile_gap': tile " + std::to_string(tile) + " is beyond the last tile " +
                        std::to_string(tiles - 1));
    }
    flat.tile = static_cast<uint32_t>(tile);
    for (uint8_t& channel : flat.rgb) channel = in.u8("flat_tile_colour");
    next = tile + 1;
  }
}

void put_flat_tiles(std::vector<uint8_t>& out, const std::vector<FlatTile>& flat_tiles) {
  wire::put_leb128(out, static_cast<uint32_t>(flat_tiles.size()));
  uint32_t next = 0;
  for (const FlatTile& flat : flat_tiles) {
    wire::put_leb128(out, flat.tile - next);
    out.insert(out.end(), flat.rgb, flat.rgb + 3);
    next = flat.tile + 1;
  }
}

void check_limits(const Header& header, const ReadLimits& limits) {
  if (uint64_t{header.width} * header.height > limits.max_pixels) {
    throw FormatError("image " + std::to_string(header.width) + "x" + std::to_string(header.height) +
                      " exceeds the reader's limit of " + std::to_string(limits.max_pixels) + " pixels");
  }
  const uint64_t tile_count = uint64_t{header.tiles_x()} * header.tiles_y();
  if (tile_count > limits.max_tiles) {
    throw FormatError("image needs " + std::to_string(tile_count) +
                      " tiles, more than the reader's limit of " + std::to_string(limits.max_tiles) +
                      " (fields size/coded_size/tile_log2/tile_overlap)");
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

// spec 4: the forms of the token counts field, and the bytes each takes.
enum class CountForm { kSingle, kPerTile, kPacked };
constexpr int kPackedWidthBits = 3;  // the packed form's `count_width` - 1, 1..8 bits per deficit

// The fewest bits (at least 1) that hold every deficit max - count[t] up to `largest_deficit`.
int deficit_width(uint32_t largest_deficit) {
  int width = 1;
  while (width < 8 && (largest_deficit >> width) != 0) ++width;
  return width;
}

// Bytes of the packed form (spec 4.1) for `tiles` deficits of `width` bits: count_max, then the bit stream.
uint64_t packed_counts_bytes(uint64_t tiles, int width) {
  return 1 + (kPackedWidthBits + tiles * width + 7) / 8;
}

// The form a writer uses for counts whose largest is `longest` and smallest `shortest` over `tiles` tiles
// (spec 4): one count when all are equal, else the shorter of per tile and packed (version 2 only; a tie
// keeps per tile, which every reader reads).
CountForm count_form_for(int version, uint64_t tiles, uint32_t longest, uint32_t shortest) {
  if (longest == shortest) return CountForm::kSingle;
  if (version >= 2 && packed_counts_bytes(tiles, deficit_width(longest - shortest)) < tiles)
    return CountForm::kPacked;
  return CountForm::kPerTile;
}

// Bytes of the token counts field in the writer's form for counts from `shortest` to `longest` over `tiles`.
uint64_t count_field_bytes(int version, uint64_t tiles, uint32_t longest, uint32_t shortest) {
  switch (count_form_for(version, tiles, longest, shortest)) {
    case CountForm::kSingle:
      return 1;
    case CountForm::kPerTile:
      return tiles;
    case CountForm::kPacked:
      break;
  }
  return packed_counts_bytes(tiles, deficit_width(longest - shortest));
}

// spec 4.1: count_max, then LSB-first bits: count_width - 1 in 3 bits, per tile its deficit in count_width
// bits, zero bits to the byte's end.
void parse_packed_counts(wire::ByteReader& in, uint64_t tile_count, Summary& summary) {
  const uint32_t longest = in.u8("count_max") + 1u;
  uint32_t byte = 0;
  int bits_left = 0;
  const auto take = [&](int width) {
    uint32_t value = 0;
    for (int bit = 0; bit < width; ++bit) {
      if (bits_left == 0) {
        byte = in.u8("count_deficits");
        bits_left = 8;
      }
      value |= (byte & 1u) << bit;
      byte >>= 1;
      --bits_left;
    }
    return value;
  };
  const int width = static_cast<int>(take(kPackedWidthBits)) + 1;
  summary.tokens_per_tile.resize(tile_count);
  uint32_t largest_deficit = 0;
  for (uint64_t tile = 0; tile < tile_count; ++tile) {
    const uint32_t deficit = take(width);
    if (deficit >= longest) {
      throw FormatError("field 'count_deficits': tile " + std::to_string(tile) + "'s deficit " +
                        std::to_string(deficit) + " leaves no token (count_max is " +
                        std::to_string(longest) + "; every tile holds 1..256)");
    }
    largest_deficit = std::max(largest_deficit, deficit);
    summary.tokens_per_tile[tile] = static_cast<uint16_t>(longest - deficit);
  }
  if (byte != 0) throw FormatError("field 'count_deficits': the padding bits after the last tile must be 0");
  if (largest_deficit == 0) {
    throw FormatError(
        "field 'token_counts': flags bit 6 (PACKED_COUNTS) is set but all tiles have the same count (a "
        "single count must be used)");
  }
  if (std::find(summary.tokens_per_tile.begin(), summary.tokens_per_tile.end(), longest) ==
      summary.tokens_per_tile.end()) {
    throw FormatError("field 'count_max' = " + std::to_string(longest) +
                      " is not canonical: no tile has that count (it must be the largest)");
  }
  if (width != deficit_width(largest_deficit)) {
    throw FormatError("field 'count_width' = " + std::to_string(width) +
                      " is not canonical: the largest deficit " + std::to_string(largest_deficit) +
                      " needs " + std::to_string(deficit_width(largest_deficit)) + " bit(s)");
  }
  if (packed_counts_bytes(tile_count, width) >= tile_count) {
    throw FormatError("field 'token_counts': flags bit 6 (PACKED_COUNTS) is not canonical: its " +
                      std::to_string(packed_counts_bytes(tile_count, width)) +
                      " bytes are not fewer than the per-tile form's " + std::to_string(tile_count));
  }
}

// spec 4: one count for all tiles, one per tile (then not all equal), or packed (version 2, 4.1).
void parse_token_counts(wire::ByteReader& in, CountForm form, uint64_t tile_count, const char* flag_name,
                        Summary& summary) {
  if (form == CountForm::kPacked) {
    parse_packed_counts(in, tile_count, summary);
  } else if (form == CountForm::kPerTile) {
    const uint8_t* counts = in.bytes(tile_count, "token_counts");
    summary.tokens_per_tile.assign(counts, counts + tile_count);
    for (uint16_t& count : summary.tokens_per_tile) ++count;
    if (all_equal(summary.tokens_per_tile)) {
      throw FormatError(std::string("field 'token_counts': ") + flag_name +
                        " is set but all tiles have the same count (a single count must be used)");
    }
  } else {
    summary.tokens_per_tile.assign(tile_count, static_cast<uint16_t>(in.u8("token_count") + 1));
  }
}

std::string chunk_field(const char* field, uint32_t chunk) {
  return "field '" + std::string(field) + "' of chunk " + std::to_string(chunk);
}

// spec 10.1 (version 1, stored chunks) and 5.3 (version 2, chunk_coding and zstd).
void parse_metadata(wire::ByteReader& in, int version, const ReadLimits& limits, Summary& summary) {
  const size_t metadata_start = in.offset();
  const uint32_t chunk_count = in.leb128("metadata_chunk_count");
  // A chunk takes at least 5 (v1) or 6 (v2) bytes, so a count beyond that is refused before allocating.
  const size_t smallest_chunk = version == 1 ? 5 : 6;
  if (chunk_count == 0 || chunk_count > in.remaining() / smallest_chunk) {
    throw FormatError("field 'metadata_chunk_count' = " + std::to_string(chunk_count) +
                      ": must be at least 1 and fit in the " + std::to_string(in.remaining()) +
                      " bytes left");
  }
  uint64_t stored_total = 0, decoded_total = 0;
  const auto over_limit = [&](uint64_t total, uint32_t chunk, const char* field) {
    if (total > limits.max_metadata_bytes) {
      throw FormatError("metadata exceeds the reader's limit of " +
                        std::to_string(limits.max_metadata_bytes) + " bytes (" + chunk_field(field, chunk) +
                        ")");
    }
  };
  for (uint32_t i = 0; i < chunk_count; ++i) {
    const uint8_t* tag = in.bytes(4, "metadata_tag");
    if (!std::all_of(tag, tag + 4, [](uint8_t c) { return c >= 0x20 && c <= 0x7E; })) {
      throw FormatError(chunk_field("metadata_tag", i) + ": must be 4 printable ASCII characters");
    }
    uint8_t chunk_coding = kChunkStored;
    if (version >= 2) {
      chunk_coding = in.u8("chunk_coding");
      if (chunk_coding != kChunkStored && chunk_coding != kChunkZstd) {
        throw FormatError(chunk_field("chunk_coding", i) + " = " + std::to_string(chunk_coding) +
                          " is reserved (0 stored, 1 zstd)");
      }
    }
    const uint32_t length = in.leb128("metadata_length");
    stored_total += length;
    over_limit(stored_total, i, "metadata_length");
    const uint8_t* bytes = in.bytes(length, "metadata_bytes");
    MetadataChunk chunk{std::string(tag, tag + 4), {}};
    if (chunk_coding == kChunkStored) {
      chunk.bytes.assign(bytes, bytes + length);
    } else {
      const unsigned long long content = ZSTD_getFrameContentSize(bytes, length);
      if (content == ZSTD_CONTENTSIZE_UNKNOWN || content == ZSTD_CONTENTSIZE_ERROR) {
        throw FormatError(chunk_field("metadata_bytes", i) +
                          ": not a zstd frame that declares its decompressed size");
      }
      const size_t frame_size = ZSTD_findFrameCompressedSize(bytes, length);
      if (ZSTD_isError(frame_size) || frame_size != length) {
        throw FormatError(chunk_field("metadata_bytes", i) + ": not exactly one zstd frame of " +
                          std::to_string(length) + " bytes");
      }
      decoded_total += content;
      over_limit(decoded_total, i, "metadata_bytes");
      chunk.bytes.resize(static_cast<size_t>(content));
      const size_t got = ZSTD_decompress(chunk.bytes.data(), chunk.bytes.size(), bytes, length);
      if (ZSTD_isError(got) || got != content) {
        throw FormatError(chunk_field("metadata_bytes", i) + ": the zstd frame is corrupted (" +
                          (ZSTD_isError(got) ? std::string(ZSTD_getErrorName(got)) : "wrong size") + ")");
      }
    }
    decoded_total += chunk_coding == kChunkStored ? length : 0;
    over_limit(decoded_total, i, "metadata_length");
    summary.metadata.push_back(std::move(chunk));
  }
  summary.metadata_bytes = in.offset() - metadata_start;
}

}  // namespace

void check_signature(const uint8_t* data, size_t size) {
  if (size == 0) throw FormatError("empty input: not an .odp file (0 bytes)");
  if (size >= 2 && data[0] == kSignature0 && (data[1] & kVersionBit)) {
    const int version = data[1] & ~kVersionBit;
    if (version != 2) {
      throw FormatError("unsupported .odp version " + std::to_string(version) + " (field 'signature' = 4F " +
                        hex_byte(data[1]) + "; this reader knows versions 1 and 2)");
    }
    return;
  }
  if (size < 3 || !std::equal(kMagicV1, kMagicV1 + 3, data)) {
    std::string seen;
    for (size_t i = 0; i < std::min<size_t>(size, 3); ++i) seen += (i ? " " : "") + hex_byte(data[i]);
    throw FormatError("not an .odp file: magic bytes are " + seen +
                      ", expected 4F 82 (version 2) or 4F 44 50 (\"ODP\", version 1)");
  }
}

namespace {

Summary parse_v1(const uint8_t* data, size_t size, const ReadLimits& limits) {
  wire::ByteReader in(data, size);
  Summary summary;
  Header& header = summary.header;

  in.bytes(3, "magic");  // checked by check_signature
  const uint8_t version = in.u8("version");
  if (version != 1) {
    throw FormatError("unsupported .odp version " + std::to_string(version) +
                      " in field 'version' (\"ODP\" files are version 1)");
  }
  header.version = 1;
  header.colour = ColourSpace::kUnspecified;
  const uint8_t flags = in.u8("flags");
  if (flags & kFlagsV1Reserved) {
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
  header.model_id_bits = 32;
  set_coding(header, in.u8("coding"));
  check_header_values(header);
  check_limits(header, limits);
  parse_token_counts(in, flags & kFlagV1PerTileCounts ? CountForm::kPerTile : CountForm::kSingle,
                     uint64_t{header.tiles_x()} * header.tiles_y(), "flags bit 1", summary);
  if (flags & kFlagV1Metadata) parse_metadata(in, 1, limits, summary);

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
  summary.cut_known = true;
  if (in.remaining() > payload_size) {
    throw FormatError(std::to_string(in.remaining() - payload_size) + " trailing byte(s) after the " +
                      std::to_string(payload_size) + "-byte payload (field 'payload_size')");
  }
  summary.payload_cut = in.remaining() < payload_size;
  if (!summary.payload_cut && wire::crc32_of(data + in.offset(), payload_size) != payload_crc) {
    throw FormatError("payload CRC mismatch (field 'payload_crc'): the file is corrupted");
  }
  return summary;
}

// A side of `size`: leb128 of side - 1, at most 65534 (spec 3.3, 5.2).
uint32_t side_leb128(wire::ByteReader& in, const char* field) {
  const uint32_t minus_one = in.leb128(field);
  if (minus_one >= kMaxDimension) {
    throw FormatError("field '" + std::string(field) + "' = " + std::to_string(uint64_t{minus_one} + 1) +
                      " out of range (1..65535)");
  }
  return minus_one + 1;
}

Summary parse_v2(const uint8_t* data, size_t size, const ReadLimits& limits) {
  wire::ByteReader in(data, size);
  Summary summary;
  Header& header = summary.header;
  in.bytes(2, "signature");
  header.version = 2;
  const uint8_t flags = in.u8("flags");
  if (flags & kFlagsReserved) {
    throw FormatError("field 'flags' = 0x" + hex_byte(flags) + ": reserved bit 7 must be zero");
  }
  if ((flags & kFlagPerTileCounts) && (flags & kFlagPackedCounts)) {
    throw FormatError(
        "field 'flags' = 0x" + hex_byte(flags) +
        ": bits 5 (PER_TILE_COUNTS) and 6 (PACKED_COUNTS) are both set (one form of token_counts)");
  }
  const int size_form = flags & kSizeFormMask;
  header.model_id = in.u16le("model_id");
  header.model_id_bits = 16;

  int tile_log2 = kDefaultTileLog2;
  uint8_t coding = kDefaultCoding;
  if (flags & kFlagCoding) {
    tile_log2 = in.u8("tile_log2");
    if (tile_log2 < kMinTileLog2 || tile_log2 > kMaxTileLog2) {
      throw FormatError("field 'tile_log2' = " + std::to_string(tile_log2) + ": must be 4..12");
    }
    coding = in.u8("coding");
    if (tile_log2 == kDefaultTileLog2 && coding == kDefaultCoding) {
      throw FormatError(
          "fields 'tile_log2'/'coding' hold the defaults (8, 0x1B): flags bit 2 (CODING) must "
          "then be clear");
    }
  }
  header.tile_size = 1u << tile_log2;
  set_coding(header, coding);

  if (size_form == 0) {
    header.width = header.height = header.tile_size;
  } else if (size_form == 1) {
    header.width = in.u8("width") + 1u;
    header.height = in.u8("height") + 1u;
  } else if (size_form == 3) {
    uint32_t packed = 0;  // u24le: W - 1 in bits 0-11, H - 1 in bits 12-23
    for (int shift = 0; shift < 24; shift += 8) packed |= uint32_t{in.u8("size")} << shift;
    header.width = (packed & 0xFFF) + 1;
    header.height = (packed >> 12) + 1;
  } else {
    header.width = side_leb128(in, "width");
    header.height = side_leb128(in, "height");
  }
  const int canonical_form = size_form_for(header.width, header.height, header.tile_size);
  // Form 2 where form 3 is the writer's: written before form 3 existed (spec 3.3), read as it is.
  if (size_form != canonical_form && !(size_form == 2 && canonical_form == 3)) {
    throw FormatError("field 'size': " + std::to_string(header.width) + "x" + std::to_string(header.height) +
                      " is stored in size_form " + std::to_string(size_form) + " but must use size_form " +
                      std::to_string(canonical_form) + " (field 'flags' bits 0-1)");
  }
  if (flags & kFlagOverlap) {
    header.tile_overlap = in.leb128("tile_overlap");
    if (header.tile_overlap == 0) {
      throw FormatError("field 'tile_overlap' is 0: flags bit 3 (OVERLAP) must then be clear");
    }
  }

  uint8_t extensions = 0;
  if (flags & kFlagExtensions) {
    extensions = in.u8("ext_flags");
    if (extensions == 0 || (extensions & kExtReserved)) {
      throw FormatError("field 'ext_flags' = 0x" + hex_byte(extensions) +
                        ": must be non-zero with reserved bits 6-7 clear");
    }
    if ((extensions & kExtCodedScale) && !(extensions & kExtCodedSize)) {
      throw FormatError("field 'ext_flags' = 0x" + hex_byte(extensions) +
                        ": bit 4 (coded_size's scale form) is set without bit 1 (coded_size)");
    }
    if ((extensions & kExtCodedAxes) && !(extensions & kExtCodedSize)) {
      throw FormatError("field 'ext_flags' = 0x" + hex_byte(extensions) +
                        ": bit 5 (coded_size's per-axis or one-tile form) is set without bit 1 (coded_size)");
    }
  }
  if (extensions & kExtColour) {
    const uint8_t colour = in.u8("colour");
    if (colour == 0)
      throw FormatError("field 'colour' is 0x00 (sRGB, colour): the field must then be absent");
    if ((colour & 0x7F) > static_cast<uint8_t>(ColourSpace::kUnspecified)) {
      throw FormatError("field 'colour' = 0x" + hex_byte(colour) + ": colour space " +
                        std::to_string(colour & 0x7F) + " is reserved (0 sRGB, 1 unspecified)");
    }
    header.colour = static_cast<ColourSpace>(colour & 0x7F);
    header.grey = (colour & kColourGrey) != 0;
  }
  if ((extensions & kExtCodedAxes) && !(extensions & kExtCodedScale)) {
    // The one-tile form (spec 5.2): no bytes.
    header.coded_width = one_tile_side(header.width, header.tile_size);
    header.coded_height = one_tile_side(header.height, header.tile_size);
    if (!has_coded_size(header)) {
      throw FormatError("field 'ext_flags' = 0x" + hex_byte(extensions) +
                        ": bit 5 without bit 4 (coded_size's one-tile form) on a " +
                        std::to_string(header.width) + "x" + std::to_string(header.height) +
                        " image that fits one tile of " + std::to_string(header.tile_size) +
                        ": ext_flags bits 1 and 5 must then be clear");
    }
  } else if (extensions & kExtCodedAxes) {
    const uint32_t qx = in.u8("coded_scale_x"), qy = in.u8("coded_scale_y");
    if (qx < kMinAxisScale || qy < kMinAxisScale) {
      const bool x = qx < kMinAxisScale;
      throw FormatError("field '" + std::string(x ? "coded_scale_x" : "coded_scale_y") +
                        "' = " + std::to_string(x ? qx : qy) + " out of range (16..255)");
    }
    header.coded_width = coded_scale_side(header.width, qx);
    header.coded_height = coded_scale_side(header.height, qy);
    if (!has_coded_size(header)) {
      throw FormatError("fields 'coded_scale_x', 'coded_scale_y' = " + std::to_string(qx) + ", " +
                        std::to_string(qy) +
                        " give the image size: ext_flags bits 1, 4 and 5 must then be clear");
    }
    const std::string coded = std::to_string(header.coded_width) + "x" + std::to_string(header.coded_height);
    if (const uint32_t one = coded_scale_for(header); one != 0) {
      throw FormatError(
          "fields 'coded_scale_x', 'coded_scale_y' are not canonical: the one-byte scale form " +
          std::to_string(one) + " gives the same coded size " + coded);
    }
    const uint32_t smallest_x = axis_scale_for(header.width, header.coded_width),
                   smallest_y = axis_scale_for(header.height, header.coded_height);
    if (smallest_x != qx || smallest_y != qy) {
      const bool x = smallest_x != qx;
      throw FormatError("field '" + std::string(x ? "coded_scale_x" : "coded_scale_y") +
                        "' = " + std::to_string(x ? qx : qy) + " is not canonical: " +
                        std::to_string(x ? smallest_x : smallest_y) + " gives the same coded size " + coded);
    }
  } else if (extensions & kExtCodedScale) {
    const uint32_t q = in.u8("coded_scale");
    if (q < kMinCodedScale) {
      throw FormatError("field 'coded_scale' = " + std::to_string(q) + " out of range (17..255)");
    }
    header.coded_width = coded_scale_side(header.width, q);
    header.coded_height = coded_scale_side(header.height, q);
    if (!has_coded_size(header)) {
      throw FormatError("field 'coded_scale' = " + std::to_string(q) + " gives the image size " +
                        std::to_string(header.width) + "x" + std::to_string(header.height) +
                        ": ext_flags bits 1 and 4 must then be clear");
    }
    if (const uint32_t smallest = coded_scale_for(header); smallest != q) {
      throw FormatError("field 'coded_scale' = " + std::to_string(q) +
                        " is not canonical: " + std::to_string(smallest) + " gives the same coded size " +
                        std::to_string(header.coded_width) + "x" + std::to_string(header.coded_height));
    }
  } else if (extensions & kExtCodedSize) {
    header.coded_width = side_leb128(in, "coded_width");
    header.coded_height = side_leb128(in, "coded_height");
    if (header.coded_width > header.width || header.coded_height > header.height) {
      throw FormatError("field 'coded_size' = " + std::to_string(header.coded_width) + "x" +
                        std::to_string(header.coded_height) + " exceeds the image size " +
                        std::to_string(header.width) + "x" + std::to_string(header.height));
    }
    if (!has_coded_size(header)) {
      throw FormatError("field 'coded_size' equals the image size: ext_flags bit 1 must then be clear");
    }
  }
  check_header_values(header);
  check_limits(header, limits);
  if (extensions & kExtMetadata) parse_metadata(in, 2, limits, summary);
  if (extensions & kExtFlatTiles) parse_flat_tiles(in, header);
  const CountForm count_form = flags & kFlagPackedCounts    ? CountForm::kPacked
                               : flags & kFlagPerTileCounts ? CountForm::kPerTile
                                                            : CountForm::kSingle;
  parse_token_counts(in, count_form, uint64_t{header.tiles_x()} * header.tiles_y(),
                     "flags bit 5 (PER_TILE_COUNTS)", summary);
  summary.check = in.u16le("check");

  summary.header_bytes = in.offset();
  summary.payload_bytes = in.remaining();
  summary.file_bytes = size;
  return summary;
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

std::vector<uint16_t> counts_of(const TokenFile& image) {
  std::vector<uint16_t> counts;
  counts.reserve(image.tile_tokens.size());
  for (const auto& tokens : image.tile_tokens) counts.push_back(static_cast<uint16_t>(tokens.size()));
  return counts;
}

void check_image(const TokenFile& image) {
  const Header& header = image.header;
  check_header_values(header);
  const uint64_t tile_count = uint64_t{header.tiles_x()} * header.tiles_y();
  if (image.tile_tokens.size() != tile_count) {
    throw FormatError("image has tokens for " + std::to_string(image.tile_tokens.size()) + " tiles, its " +
                      std::to_string(header.grid_width()) + "x" + std::to_string(header.grid_height()) +
                      " grid needs " + std::to_string(tile_count));
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
    if (chunk.bytes.size() > UINT32_MAX / 2)
      throw FormatError("metadata chunk '" + chunk.tag + "' exceeds 2 GiB");
  }
}

// The metadata section as the image's version stores it (chunk count, then the chunks), or nothing.
// Computed once per write or truncation: compressing a chunk is the costly part of a small file.
std::vector<uint8_t> metadata_section(const TokenFile& image) {
  std::vector<uint8_t> out;
  if (image.metadata.empty()) return out;
  wire::put_leb128(out, static_cast<uint32_t>(image.metadata.size()));
  for (const MetadataChunk& chunk : image.metadata) {
    out.insert(out.end(), chunk.tag.begin(), chunk.tag.end());
    const std::vector<uint8_t>* stored = &chunk.bytes;
    std::vector<uint8_t> compressed;
    if (image.header.version >= 2) {
      compressed.resize(ZSTD_compressBound(chunk.bytes.size()));
      const size_t size = ZSTD_compress(compressed.data(), compressed.size(), chunk.bytes.data(),
                                        chunk.bytes.size(), kZstdLevel);
      if (ZSTD_isError(size)) throw FormatError(std::string("zstd failed: ") + ZSTD_getErrorName(size));
      compressed.resize(size);
      // Stored unless zstd saves bytes (chunk_coding 1 costs nothing extra, the frame header does).
      const bool use_zstd = compressed.size() < chunk.bytes.size();
      out.push_back(use_zstd ? kChunkZstd : kChunkStored);
      if (use_zstd) stored = &compressed;
    }
    wire::put_leb128(out, static_cast<uint32_t>(stored->size()));
    out.insert(out.end(), stored->begin(), stored->end());
  }
  return out;
}

std::vector<uint8_t> encode_payload(const std::vector<std::vector<uint16_t>>& tile_tokens,
                                    const std::vector<uint16_t>& counts, const coding::TokenModel& model) {
  coding::RangeEncoder encoder;
  for_each_token_major(counts, [&](size_t tile, uint32_t position) {
    encoder.encode(model.interval(static_cast<int>(position), tile_tokens[tile][position]));
    return true;
  });
  return encoder.finish();
}

// The form write_v1/write_v2 store `counts` in (spec 4), the writer's choice.
CountForm count_form_of(const std::vector<uint16_t>& counts, int version) {
  const auto [shortest, longest] = std::minmax_element(counts.begin(), counts.end());
  return count_form_for(version, counts.size(), *longest, *shortest);
}

void put_counts(std::vector<uint8_t>& out, const std::vector<uint16_t>& counts, CountForm form) {
  if (form == CountForm::kPerTile) {
    for (uint16_t count : counts) out.push_back(static_cast<uint8_t>(count - 1));
    return;
  }
  const int longest = longest_count(counts);
  out.push_back(static_cast<uint8_t>(longest - 1));
  if (form == CountForm::kSingle) return;
  // spec 4.1: LSB-first bits, count_width - 1 then each tile's deficit, zero bits to the byte's end.
  const int shortest = *std::min_element(counts.begin(), counts.end());
  const int width = deficit_width(static_cast<uint32_t>(longest - shortest));
  uint32_t pending = 0;
  int pending_bits = 0;
  const auto put = [&](uint32_t value, int bits) {
    for (int bit = 0; bit < bits; ++bit) {
      pending |= ((value >> bit) & 1u) << pending_bits;
      if (++pending_bits == 8) {
        out.push_back(static_cast<uint8_t>(pending));
        pending = 0;
        pending_bits = 0;
      }
    }
  };
  put(static_cast<uint32_t>(width - 1), kPackedWidthBits);
  for (uint16_t count : counts) put(static_cast<uint32_t>(longest - count), width);
  if (pending_bits) out.push_back(static_cast<uint8_t>(pending));
}

std::vector<uint8_t> write_v1(const TokenFile& image, const std::vector<uint16_t>& counts,
                              CountForm count_form, const std::vector<uint8_t>& metadata,
                              const std::vector<uint8_t>& payload) {
  const Header& header = image.header;
  std::vector<uint8_t> out(kMagicV1, kMagicV1 + 3);
  out.push_back(1);
  out.push_back(static_cast<uint8_t>((metadata.empty() ? 0 : kFlagV1Metadata) |
                                     (count_form == CountForm::kPerTile ? kFlagV1PerTileCounts : 0)));
  wire::put_leb128(out, header.width);
  wire::put_leb128(out, header.height);
  out.push_back(static_cast<uint8_t>(tile_log2_of(header.tile_size)));
  wire::put_leb128(out, header.tile_overlap);
  wire::put_u32le(out, header.model_id);
  out.push_back(coding_byte(header));
  put_counts(out, counts, count_form);
  out.insert(out.end(), metadata.begin(), metadata.end());
  if (payload.size() > UINT32_MAX) throw FormatError("payload exceeds 4 GiB");
  wire::put_leb128(out, static_cast<uint32_t>(payload.size()));
  wire::put_u32le(out, wire::crc32_of(payload.data(), payload.size()));
  wire::put_u32le(out, wire::crc32_of(out.data(), out.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> write_v2(const TokenFile& image, const std::vector<uint16_t>& counts,
                              CountForm count_form, const std::vector<uint8_t>& metadata,
                              const std::vector<uint8_t>& payload) {
  const Header& header = image.header;
  const int tile_log2 = tile_log2_of(header.tile_size);
  const uint8_t coding = coding_byte(header);
  const bool explicit_coding = tile_log2 != kDefaultTileLog2 || coding != kDefaultCoding;
  const int size_form = size_form_for(header.width, header.height, header.tile_size);
  const uint8_t colour =
      static_cast<uint8_t>(static_cast<uint8_t>(header.colour) | (header.grey ? kColourGrey : 0));
  // The coded size's shortest form (spec 5.2): one tile (no bytes), else one q for both axes, else one per
  // axis, else two leb128.
  const bool one_tile = is_one_tile_coded_size(header);
  const bool stores_coded_size = has_coded_size(header) && !one_tile;  // in bytes after ext_flags
  const uint32_t coded_scale = stores_coded_size ? coded_scale_for(header) : 0;
  const bool try_per_axis = stores_coded_size && !coded_scale;
  const uint32_t scale_x = try_per_axis ? axis_scale_for(header.width, header.grid_width()) : 0,
                 scale_y = try_per_axis ? axis_scale_for(header.height, header.grid_height()) : 0;
  const bool per_axis = scale_x != 0 && scale_y != 0;
  const uint8_t extensions = static_cast<uint8_t>(
      (colour != 0 ? kExtColour : 0) | (has_coded_size(header) ? kExtCodedSize : 0) |
      (coded_scale || per_axis ? kExtCodedScale : 0) | (per_axis || one_tile ? kExtCodedAxes : 0) |
      (metadata.empty() ? 0 : kExtMetadata) | (header.flat_tiles.empty() ? 0 : kExtFlatTiles));
  std::vector<uint8_t> out{kSignature0, static_cast<uint8_t>(kVersionBit | 2)};
  out.push_back(static_cast<uint8_t>(
      size_form | (explicit_coding ? kFlagCoding : 0) | (header.tile_overlap ? kFlagOverlap : 0) |
      (extensions ? kFlagExtensions : 0) | (count_form == CountForm::kPerTile ? kFlagPerTileCounts : 0) |
      (count_form == CountForm::kPacked ? kFlagPackedCounts : 0)));
  wire::put_u16le(out, static_cast<uint16_t>(header.model_id & 0xFFFF));
  if (explicit_coding) {
    out.push_back(static_cast<uint8_t>(tile_log2));
    out.push_back(coding);
  }
  if (size_form == 1) {
    out.push_back(static_cast<uint8_t>(header.width - 1));
    out.push_back(static_cast<uint8_t>(header.height - 1));
  } else if (size_form == 3) {
    const uint32_t packed = (header.width - 1) | (header.height - 1) << 12;
    for (int shift = 0; shift < 24; shift += 8) out.push_back(static_cast<uint8_t>(packed >> shift));
  } else if (size_form == 2) {
    wire::put_leb128(out, header.width - 1);
    wire::put_leb128(out, header.height - 1);
  }
  if (header.tile_overlap) wire::put_leb128(out, header.tile_overlap);
  if (extensions) out.push_back(extensions);
  if (extensions & kExtColour) out.push_back(colour);
  if (one_tile) {
    // no bytes: ext_flags bit 5 without bit 4 says it
  } else if (extensions & kExtCodedAxes) {
    out.push_back(static_cast<uint8_t>(scale_x));
    out.push_back(static_cast<uint8_t>(scale_y));
  } else if (extensions & kExtCodedScale) {
    out.push_back(static_cast<uint8_t>(coded_scale));
  } else if (extensions & kExtCodedSize) {
    wire::put_leb128(out, header.grid_width() - 1);
    wire::put_leb128(out, header.grid_height() - 1);
  }
  out.insert(out.end(), metadata.begin(), metadata.end());
  if (extensions & kExtFlatTiles) put_flat_tiles(out, header.flat_tiles);
  put_counts(out, counts, count_form);
  const uint16_t check =
      wire::crc16_of(payload.data(), payload.size(), wire::crc16_of(out.data(), out.size()));
  wire::put_u16le(out, check);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// Serialises header + payload for the tiles' first counts[t] tokens, the counts in the writer's form. The
// image must have passed check_image; metadata is metadata_section(image).
std::vector<uint8_t> write_with_counts(const TokenFile& image, const std::vector<uint16_t>& counts,
                                       const coding::TokenModel& model,
                                       const std::vector<uint8_t>& metadata) {
  const std::vector<uint8_t> payload = encode_payload(image.tile_tokens, counts, model);
  const CountForm form = count_form_of(counts, image.header.version);
  return image.header.version == 1 ? write_v1(image, counts, form, metadata, payload)
                                   : write_v2(image, counts, form, metadata, payload);
}

}  // namespace

uint32_t Header::tiles_x() const { return tiles_along(grid_width(), tile_size, tile_overlap); }
uint32_t Header::tiles_y() const { return tiles_along(grid_height(), tile_size, tile_overlap); }

bool Header::matches_model(uint32_t id) const {
  const uint32_t mask = model_id_bits >= 32 ? 0xFFFFFFFFu : (1u << model_id_bits) - 1;
  return (id & mask) == (model_id & mask);
}

std::vector<uint8_t> write(const TokenFile& image, const FrequencyTables& tables) {
  check_image(image);
  const std::vector<uint16_t> counts = counts_of(image);
  const coding::TokenModel model(image.header, tables, longest_count(counts));
  return write_with_counts(image, counts, model, metadata_section(image));
}

uint64_t token_counts_bytes(const std::vector<uint16_t>& counts, int version) {
  if (counts.empty()) throw FormatError("token_counts_bytes: no tiles");
  const auto [shortest, longest] = std::minmax_element(counts.begin(), counts.end());
  return count_field_bytes(version, counts.size(), *longest, *shortest);
}

Summary summarize(const uint8_t* data, size_t size, const ReadLimits& limits) {
  check_signature(data, size);
  if (data[0] == kSignature0 && (data[1] & kVersionBit)) return parse_v2(data, size, limits);
  return parse_v1(data, size, limits);
}

TokenFile read(const uint8_t* data, size_t size, const FrequencyTables& tables, const ReadLimits& limits) {
  return read_payload(summarize(data, size, limits), data, size, tables);
}

TokenFile read_payload(const Summary& summary, const uint8_t* data, size_t size,
                       const FrequencyTables& tables) {
  if (size != summary.file_bytes || summary.header_bytes > size || summary.header_bytes < 2) {
    throw FormatError("read_payload: the summary describes a file of " + std::to_string(summary.file_bytes) +
                      " bytes, not these " + std::to_string(size) +
                      " (pass the bytes that summarize() was given)");
  }
  const std::vector<uint16_t>& counts = summary.tokens_per_tile;
  const coding::TokenModel model(summary.header, tables, longest_count(counts));
  const uint8_t* payload = data + summary.header_bytes;
  const size_t available = size - summary.header_bytes;

  TokenFile image;
  image.header = summary.header;
  image.metadata = summary.metadata;
  image.tile_tokens.resize(counts.size());
  for (size_t tile = 0; tile < counts.size(); ++tile) image.tile_tokens[tile].reserve(counts[tile]);

  // Decode twice, reading missing bytes as 0x00 and as 0xFF. Decoding is monotone in the stream value, so
  // while the two agree, every possible continuation of the available bytes agrees too (spec 7). A complete
  // payload must determine every token this way.
  coding::RangeDecoder low_continuation(payload, available, 0x00);
  coding::RangeDecoder high_continuation(payload, available, 0xFF);
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

  if (image.header.version == 1) {
    image.was_cut = summary.payload_cut;
    if (!image.was_cut && decoded != total) {
      throw FormatError("payload determines only " + std::to_string(decoded) + " of " +
                        std::to_string(total) +
                        " tokens (field 'payload_size' too small or the encoder did not flush)");
    }
    return image;
  }
  // Version 2 (spec 7): fewer tokens than declared means a cut file, whose check cannot be verified.
  if (decoded < total) {
    image.was_cut = true;
    return image;
  }
  // A whole payload must be exactly the canonical one; then the check covers header and payload.
  const std::vector<uint8_t> canonical = encode_payload(image.tile_tokens, counts, model);
  if (available > canonical.size() && std::equal(canonical.begin(), canonical.end(), payload)) {
    throw FormatError(std::to_string(available - canonical.size()) + " trailing byte(s) after the " +
                      std::to_string(canonical.size()) + "-byte payload (field 'payload' ends at byte " +
                      std::to_string(summary.header_bytes + canonical.size()) + ")");
  }
  if (available != canonical.size() || !std::equal(canonical.begin(), canonical.end(), payload)) {
    throw FormatError("field 'payload' is not the canonical encoding of its " + std::to_string(total) +
                      " tokens (spec 6.4): the file is corrupted");
  }
  // The check covers everything before it (it is the header's last field) and then the payload.
  const size_t check_covers = summary.header_bytes - 2;
  const uint16_t check = wire::crc16_of(payload, available, wire::crc16_of(data, check_covers));
  if (check != summary.check) {
    throw FormatError("check mismatch (field 'check' at byte " + std::to_string(check_covers) +
                      "): the file is corrupted");
  }
  return image;
}

TokenFile truncate_tokens(const TokenFile& image, int tokens) {
  if (tokens < 1)
    throw FormatError("truncate_tokens: keep at least 1 token per tile (asked for " + std::to_string(tokens) +
                      ")");
  TokenFile truncated = image;
  for (auto& tile : truncated.tile_tokens) {
    if (tile.size() > static_cast<size_t>(tokens)) tile.resize(tokens);
  }
  return truncated;
}

std::vector<uint8_t> truncate_to_bytes(const TokenFile& image, uint64_t max_bytes,
                                       const FrequencyTables& tables) {
  check_image(image);
  const int version = image.header.version;
  const std::vector<uint16_t> counts = counts_of(image);
  const coding::TokenModel model(image.header, tables, longest_count(counts));
  const std::vector<uint8_t> metadata = metadata_section(image);
  const uint64_t tiles = counts.size();
  // A prefix's file without its token counts field: this grows with the prefix (the payload does).
  const auto rest_for = [&](uint64_t prefix) {
    const std::vector<uint16_t> kept = prefix_counts(counts, prefix);
    return write_with_counts(image, kept, model, metadata).size() - token_counts_bytes(kept, version);
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
  const uint64_t one_per_tile = tiles;
  const uint64_t total = std::accumulate(counts.begin(), counts.end(), uint64_t{0});
  // One token per tile is the smallest file: the shortest payload, and one count for all tiles.
  const uint64_t smallest = rest_for(one_per_tile) + 1;
  if (smallest > max_bytes) {
    throw FormatError("cannot fit " + std::to_string(max_bytes) + " bytes: even 1 token per tile needs " +
                      std::to_string(smallest));
  }
  // The token counts field takes one of a few sizes (spec 4), and a prefix's file is the rest plus it. For
  // each size s, the longest prefix whose rest fits max_bytes - s bounds the prefixes whose field takes at
  // most s; going down from there, the first such prefix is the longest file within max_bytes of those.
  // The longest over all sizes is the answer. The per-tile size always applies, so its bound is a floor.
  std::vector<uint64_t> sizes = {tiles, 1};
  if (version >= 2)
    for (int width = 1; width <= 8; ++width)
      if (packed_counts_bytes(tiles, width) < tiles) sizes.push_back(packed_counts_bytes(tiles, width));
  const uint64_t smallest_rest = smallest - 1;
  uint64_t best = 0;
  for (uint64_t size : sizes) {
    if (size > max_bytes || smallest_rest > max_bytes - size) continue;
    const uint64_t bound = last_fitting(
        one_per_tile, total, [&](uint64_t prefix) { return rest_for(prefix) <= max_bytes - size; });
    // Down from the bound: the counts' histogram gives the largest and smallest count in O(1) amortised.
    std::vector<uint16_t> kept = prefix_counts(counts, bound);
    std::vector<uint64_t> histogram(kMaxTokensPerTile + 1, 0);
    for (uint16_t count : kept) ++histogram[count];
    uint32_t longest = static_cast<uint32_t>(longest_count(kept));
    uint32_t shortest = *std::min_element(kept.begin(), kept.end());
    uint64_t last = tiles - 1;  // moves down a layer's tiles, back to the end at each new layer
    for (uint64_t prefix = bound; prefix > best; --prefix) {
      if (count_field_bytes(version, tiles, longest, shortest) <= size) {
        best = prefix;
        break;
      }
      // The prefix's last token leaves: it is the last tile (6.1's order) holding the longest count.
      while (kept[last] != longest) --last;
      --histogram[kept[last]];
      ++histogram[--kept[last]];
      shortest = std::min<uint32_t>(shortest, kept[last]);
      if (histogram[longest] == 0) {
        --longest;
        last = tiles - 1;
      }
    }
  }
  return write_with_counts(image, prefix_counts(counts, best), model, metadata);
}

}  // namespace odp::format
