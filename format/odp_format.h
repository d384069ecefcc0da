// The .odp container and its token payload: parse, write and truncate files without any model (pure C++17).
// The byte-exact description is spec/odp-format.md; this header is the library's public face for it.
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

// One carried-through metadata chunk (ICC profile, EXIF), stored unchanged.
struct MetadataChunk {
  std::string tag;             // exactly 4 ASCII characters: "ICCP" or "EXIF" (others are kept too)
  std::vector<uint8_t> bytes;
};

// How token probabilities are modelled by the entropy coder.
enum class EntropyModel : uint8_t {
  kUniform = 0,          // every code equally likely: exactly codebook_bits per token
  kPositionTables = 1,   // a frequency table per token position, supplied by the model file
};

struct Header {
  uint32_t width = 0, height = 0;   // image size in pixels
  uint32_t tile_size = 256;         // tile edge in pixels (power of two)
  uint32_t tile_overlap = 0;        // pixels shared by neighbouring tiles
  uint32_t model_id = 0;            // identifies the weights that made the tokens
  uint8_t codebook_bits = 12;       // codebook size = 2^codebook_bits
  EntropyModel entropy_model = EntropyModel::kUniform;
  uint32_t tiles_x() const;         // derived from width/height/tile geometry, per the spec (0 if overlap >= tile)
  uint32_t tiles_y() const;
  uint32_t tile_count() const { return tiles_x() * tiles_y(); }
};

// A decoded file: header, metadata and, per tile, its token prefix (tile order is row-major).
struct Image {
  Header header;
  std::vector<MetadataChunk> metadata;
  std::vector<std::vector<uint16_t>> tile_tokens;  // tile_tokens[t].size() = tokens kept for tile t (1..256;
                                                   // 0..256 when was_cut)
  bool was_cut = false;  // the payload was shorter than its declared size: a prefix was recovered
};

// Per token position p (0..255), a table of 2^codebook_bits frequencies, each >= 1, summing to 65536.
// Supplied by the caller (the model file carries them) when entropy_model is kPositionTables.
struct FrequencyTables {
  uint32_t codebook_size = 0;
  std::vector<std::vector<uint16_t>> per_position;  // per_position[p][code]; p beyond size() uses the last
  bool empty() const { return per_position.empty(); }
};

struct ReadLimits {
  uint64_t max_pixels = 1ull << 28;    // refuse images larger than this (width*height)
  uint32_t max_tiles = 1u << 16;
  uint64_t max_metadata_bytes = 64u << 20;
};

// Serialises an image. Every tile must have 1..256 tokens, each < 2^codebook_bits.
std::vector<uint8_t> write(const Image& image, const FrequencyTables& tables = {});
// Parses bytes. A payload cut short decodes to the longest reliable token prefix (spec: "Shortened payload").
// Files with entropy model kPositionTables need the model's tables; throws FormatError on any bad input.
Image read(const uint8_t* data, size_t size, const FrequencyTables& tables = {}, const ReadLimits& = {});
// Reads only header + metadata + token counts (no entropy decoding), e.g. for odpinfo or to pick tables.
struct Summary {
  Header header;
  std::vector<MetadataChunk> metadata;
  std::vector<uint16_t> tokens_per_tile;
  // header_bytes: magic..header_crc; payload_bytes: as declared; metadata_bytes: the whole metadata section
  // (chunk count, tags, lengths, contents); file_bytes: the input size.
  uint64_t header_bytes = 0, payload_bytes = 0, metadata_bytes = 0, file_bytes = 0;
  bool payload_cut = false;  // the input is shorter than header_bytes + payload_bytes
};
Summary summarize(const uint8_t* data, size_t size, const ReadLimits& = {});

// Truncation without the model: keep at most `tokens` per tile.
Image truncate_tokens(const Image& image, int tokens);
// Largest token-major prefix whose serialised file is at most max_bytes. Throws FormatError if even one
// token per tile does not fit.
std::vector<uint8_t> truncate_to_bytes(const Image& image, uint64_t max_bytes, const FrequencyTables& tables = {});

}  // namespace odp::format
