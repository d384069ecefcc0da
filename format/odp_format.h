// The .odp container (versions 2 and 1) and its token payload: parse, write and truncate files without any
// model (pure C++17 with zlib and zstd). The byte-exact description is spec/odp-format.md.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace odp::format {

// Every problem with a .odp byte stream or a request on it. what() names the field or check that failed.
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One carried-through metadata chunk (ICC profile, EXIF, XMP). `bytes` are the chunk itself; a version 2
// writer stores them zstd-compressed when that is smaller, and the reader hands back the decompressed bytes.
struct MetadataChunk {
  std::string tag;  // exactly 4 ASCII characters: "ICCP", "EXIF" or "XMP " (others are kept too)
  std::vector<uint8_t> bytes;
};

// The colour space of the coded pixels (spec 5.1). Version 1 files read as kUnspecified.
enum class ColourSpace : uint8_t {
  kSrgb = 0,
  kUnspecified = 1,  // the source's values as they were (e.g. an ICC profile the encoder could not apply)
};

// How token probabilities are modelled by the entropy coder.
enum class EntropyModel : uint8_t {
  kUniform = 0,         // every code equally likely: exactly codebook_bits per token
  kPositionTables = 1,  // a frequency table per token position, supplied by the model file
};

constexpr int kLatestVersion = 2;

// A tile the encoder found to be one colour (spec 5.4): the decoder outputs that colour for it, whatever its
// tokens decode to.
struct FlatTile {
  uint32_t tile = 0;  // index in the tile grid (row-major), strictly increasing along Header::flat_tiles
  uint8_t rgb[3] = {0, 0, 0};
};

struct Header {
  int version = kLatestVersion;    // format version: write() writes it, read() reports it (1 or 2)
  uint32_t width = 0, height = 0;  // image size in pixels (what the decoder outputs)
  uint32_t tile_size = 256;        // tile edge in pixels (power of two)
  uint32_t tile_overlap = 0;       // pixels shared by neighbouring tiles
  uint32_t model_id = 0;           // identifies the weights that made the tokens (the model file's CRC-32)
  uint8_t model_id_bits = 32;      // bits of model_id the file holds: read() gives 32 (v1) or 16 (v2)
  uint8_t codebook_bits = 12;      // codebook size = 2^codebook_bits
  EntropyModel entropy_model = EntropyModel::kUniform;
  // Version 2 only (a version 1 writer cannot store them: colour and grey are dropped, a coded size and flat
  // tiles refused).
  ColourSpace colour = ColourSpace::kSrgb;
  bool grey = false;                           // the source was greyscale: decode to grey
  uint32_t coded_width = 0, coded_height = 0;  // size the tokens code (downscaled image); 0: width/height
  std::vector<FlatTile> flat_tiles;            // tiles decoded as one colour, by increasing index

  uint32_t grid_width() const { return coded_width ? coded_width : width; }
  uint32_t grid_height() const { return coded_height ? coded_height : height; }
  uint32_t tiles_x() const;  // the grid over grid_width() x grid_height() (0 if overlap >= tile)
  uint32_t tiles_y() const;
  uint32_t tile_count() const { return tiles_x() * tiles_y(); }
  // Whether a model with the 32-bit id `id` may decode this file: compares the model_id_bits the file holds.
  bool matches_model(uint32_t id) const;
};

// A .odp file's contents as tokens (not pixels, which are base::Image): header, metadata and, per tile, its
// token prefix (tile order is row-major).
struct TokenFile {
  Header header;
  std::vector<MetadataChunk> metadata;
  std::vector<std::vector<uint16_t>> tile_tokens;  // tile_tokens[t].size() = tokens kept for tile t (1..256;
                                                   // 0..256 when was_cut)
  bool was_cut =
      false;  // the file was cut short (v1: shorter than declared; v2: the payload does not determine
              // every token): a prefix was recovered, and the integrity check could not be verified
};

// Per token position p (0..255), a table of 2^codebook_bits frequencies, each >= 1, summing to 65536.
// Supplied by the caller (the model file carries them) when entropy_model is kPositionTables.
struct FrequencyTables {
  uint32_t codebook_size = 0;
  std::vector<std::vector<uint16_t>> per_position;  // per_position[p][code]; p beyond size() uses the last
  bool empty() const { return per_position.empty(); }
};

struct ReadLimits {
  uint64_t max_pixels = 1ull << 28;  // refuse images larger than this (width*height)
  uint32_t max_tiles = 1u << 16;
  uint64_t max_metadata_bytes = 64u << 20;  // stored and decompressed, all chunks together
};

// How many leading bytes check_signature looks at.
constexpr size_t kSignatureBytes = 3;
// Throws FormatError unless data starts as an .odp file does (version 2's 4F 82, version 1's "ODP"): the
// first check of every parse, also run on the first bytes of a stream before the rest is read.
void check_signature(const uint8_t* data, size_t size);

// Serialises a token file in file.header.version (2 by default). Every tile must have 1..256 tokens, each
// < 2^codebook_bits.
std::vector<uint8_t> write(const TokenFile& file, const FrequencyTables& tables = {});

// Reading is two steps, so that a caller parses the header once: summarize() reads the header (the size and
// tile checks against ReadLimits, the model id that picks the tables), then read_payload() entropy decodes
// the payload where the summary says it starts. read() does both.

// The header, metadata and token counts, without entropy decoding (e.g. for odpinfo or to pick tables).
struct Summary {
  Header header;
  std::vector<MetadataChunk> metadata;
  std::vector<uint16_t> tokens_per_tile;
  // header_bytes: everything before the payload (v1: magic..header_crc, v2: signature..check);
  // payload_bytes: v1 as declared, v2 the bytes after the header; metadata_bytes: the whole metadata section
  // (chunk count, tags, codings, lengths, stored contents); file_bytes: the input size.
  uint64_t header_bytes = 0, payload_bytes = 0, metadata_bytes = 0, file_bytes = 0;
  bool payload_cut = false;  // v1: the input is shorter than header_bytes + payload_bytes; v2: see cut_known
  // v1: payload_cut is exact and the header CRC was verified. v2: false, because whether a v2 payload is
  // whole (and its check) needs entropy decoding: read_payload() settles it.
  bool cut_known = false;
  uint16_t check =
      0;  // v2: the header's last field, over the header and payload (read_payload() verifies it)
};
// Throws FormatError on a bad header or one beyond the limits.
Summary summarize(const uint8_t* data, size_t size, const ReadLimits& = {});
// Decodes the payload of the bytes that `summary` was made from (summarize(data, size, ...) on the same
// data and size), without parsing the header again. A payload cut short decodes to the longest reliable
// token prefix (spec: "Shortened payload"). Files with entropy model kPositionTables need the model's tables.
// Throws FormatError on any bad payload, or when size is not the summary's file_bytes.
TokenFile read_payload(const Summary& summary, const uint8_t* data, size_t size,
                       const FrequencyTables& tables = {});
// summarize() then read_payload(): what a caller that needs nothing from the header in between uses.
TokenFile read(const uint8_t* data, size_t size, const FrequencyTables& tables = {}, const ReadLimits& = {});

// Bytes of the token counts field (spec 4) that write() stores for tiles of these counts (each 1..256, at
// least one tile) in a file of `version`: what a rate control weighs against the tokens it could spend
// instead.
uint64_t token_counts_bytes(const std::vector<uint16_t>& counts, int version = kLatestVersion);

// Truncation without the model: keep at most `tokens` per tile.
TokenFile truncate_tokens(const TokenFile& file, int tokens);
// Largest token-major prefix whose serialised file is at most max_bytes. Throws FormatError if even one
// token per tile does not fit.
std::vector<uint8_t> truncate_to_bytes(const TokenFile& file, uint64_t max_bytes,
                                       const FrequencyTables& tables = {});

}  // namespace odp::format
