// Small builders shared by the format tests: images with chosen geometry/tokens and header re-sealing.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "odp_format.h"
#include "wire.h"

namespace odp::format::test {

// An image whose tile t has counts[t] tokens drawn uniformly from the codebook.
inline TokenFile make_image(uint32_t width, uint32_t height, uint32_t tile, uint32_t overlap, uint8_t bits,
                            const std::vector<int>& counts, uint32_t seed = 1) {
  TokenFile image;
  image.header.width = width;
  image.header.height = height;
  image.header.tile_size = tile;
  image.header.tile_overlap = overlap;
  image.header.codebook_bits = bits;
  image.header.model_id = 0xC0FFEE00u + seed;
  std::mt19937 random(seed);
  std::uniform_int_distribution<uint32_t> token(0, (1u << bits) - 1);
  for (int count : counts) {
    std::vector<uint16_t> tokens(count);
    for (auto& t : tokens) t = static_cast<uint16_t>(token(random));
    image.tile_tokens.push_back(tokens);
  }
  return image;
}

// The image of the spec's worked examples 13.1 (version 1) and 13.2 (version 2).
inline TokenFile worked_example_image(int version = 1) {
  TokenFile image;
  image.header.version = version;
  image.header.width = 20;
  image.header.height = 12;
  image.header.tile_size = 16;
  image.header.tile_overlap = 4;
  image.header.model_id = 0x12345678;
  image.header.codebook_bits = 4;
  image.metadata.push_back({"EXIF", {0x2A, 0x00}});
  image.tile_tokens = {{1, 15, 7}, {4, 9}};
  return image;
}

// Number of tokens each tile keeps in the first `prefix` tokens of payload (token-major) order.
inline std::vector<size_t> token_major_counts(const std::vector<size_t>& counts, size_t prefix) {
  std::vector<size_t> kept(counts.size(), 0);
  for (size_t position = 0; prefix > 0; ++position) {
    bool any = false;
    for (size_t t = 0; t < counts.size() && prefix > 0; ++t) {
      if (counts[t] > position) {
        ++kept[t];
        --prefix;
        any = true;
      }
    }
    if (!any) break;
  }
  return kept;
}

inline std::vector<size_t> counts_of(const TokenFile& image) {
  std::vector<size_t> counts;
  for (const auto& tokens : image.tile_tokens) counts.push_back(tokens.size());
  return counts;
}

inline size_t total_tokens(const TokenFile& image) {
  size_t total = 0;
  for (const auto& tokens : image.tile_tokens) total += tokens.size();
  return total;
}

// The image cut to the first `prefix` tokens in payload order (tiles may end up empty).
inline TokenFile token_major_prefix(const TokenFile& image, size_t prefix) {
  TokenFile cut = image;
  const std::vector<size_t> kept = token_major_counts(counts_of(image), prefix);
  for (size_t t = 0; t < kept.size(); ++t) cut.tile_tokens[t].resize(kept[t]);
  return cut;
}

// Skewed tables for any codebook size: code c gets about 1/2^(c+1) of the mass (shifted by the position),
// every code at least 1, total exactly 65536.
inline FrequencyTables skewed_tables(uint8_t bits, int positions) {
  FrequencyTables tables;
  tables.codebook_size = 1u << bits;
  for (int position = 0; position < positions; ++position) {
    std::vector<uint16_t> table(tables.codebook_size, 1);
    uint32_t left = 65536 - tables.codebook_size;
    const uint32_t first = position % tables.codebook_size;
    for (uint32_t code = first; code < tables.codebook_size && left > 0; ++code) {
      const uint32_t extra = left / 2 + (left & 1);
      table[code] = static_cast<uint16_t>(table[code] + extra);
      left -= extra;
    }
    table[first] = static_cast<uint16_t>(table[first] + left);  // what the halving did not hand out
    tables.per_position.push_back(table);
  }
  return tables;
}

// Version 2: recomputes `check` (the u16le just before header_end) over the header bytes before it and the
// payload after it, so that a test's edits reach the checks behind the CRC.
inline void reseal_v2(std::vector<uint8_t>& file, size_t header_end) {
  const size_t at = header_end - 2;
  const uint16_t crc =
      wire::crc16_of(file.data() + header_end, file.size() - header_end, wire::crc16_of(file.data(), at));
  file[at] = static_cast<uint8_t>(crc);
  file[at + 1] = static_cast<uint8_t>(crc >> 8);
}

// Version 1: recomputes header_crc after a test edited header bytes (header_end = offset of the payload).
inline void reseal_header(std::vector<uint8_t>& file, size_t header_end) {
  const uint32_t crc = wire::crc32_of(file.data(), header_end - 4);
  for (int i = 0; i < 4; ++i) file[header_end - 4 + i] = static_cast<uint8_t>(crc >> (8 * i));
}

// Hand-built version 1 header (for values the writer refuses to produce); fields default to a valid 1-tile
// file.
struct RawHeader {
  uint8_t version = 1, flags = 0;
  std::vector<uint8_t> width{16}, height{16};  // LEB128 bytes as written
  uint8_t tile_log2 = 4;
  std::vector<uint8_t> overlap{0};
  uint8_t coding = 0x03;           // 4-bit codebook, uniform
  std::vector<uint8_t> counts{0};  // count - 1 per entry
  std::vector<uint8_t> metadata;   // raw metadata section
  std::vector<uint8_t> payload{0x80};
  std::vector<uint8_t> payload_size;  // LEB128 override; empty = the payload's size

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out{'O', 'D', 'P', version, flags};
    const auto append = [&](const std::vector<uint8_t>& part) {
      for (uint8_t byte : part)
        out.push_back(byte);  // (insert() trips a GCC 12 -Warray-bounds false positive)
    };
    append(width);
    append(height);
    out.push_back(tile_log2);
    append(overlap);
    wire::put_u32le(out, 0);
    out.push_back(coding);
    append(counts);
    append(metadata);
    if (payload_size.empty())
      wire::put_leb128(out, static_cast<uint32_t>(payload.size()));
    else
      append(payload_size);
    wire::put_u32le(out, wire::crc32_of(payload.data(), payload.size()));
    wire::put_u32le(out, wire::crc32_of(out.data(), out.size()));
    append(payload);
    return out;
  }
};

// Hand-built version 2 file, field by field in spec order (section 3); `check` is computed unless given.
// Defaults: a valid one-tile 16x16 file, 4-bit uniform codebook, one token.
struct RawV2 {
  uint8_t byte1 = 0x82, flags = 0x04;  // size_form 0, CODING
  std::vector<uint8_t> model_id{0x34, 0x12};
  std::vector<uint8_t> coding{4, 0x03};  // tile_log2, coding (present: flags bit 2)
  std::vector<uint8_t> size;             // as stored for flags bits 0-1
  std::vector<uint8_t> overlap;          // leb128 (flags bit 3)
  std::vector<uint8_t> extensions;       // ext_flags and what follows (flags bit 4)
  std::vector<uint8_t> counts{0};
  std::vector<uint8_t> check;  // empty: the right CRC-16
  std::vector<uint8_t> payload{0x80};

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out{0x4F, byte1, flags};
    for (const auto* part : {&model_id, &coding, &size, &overlap, &extensions, &counts})
      for (uint8_t byte : *part) out.push_back(byte);
    if (check.empty()) {
      wire::put_u16le(out,
                      wire::crc16_of(payload.data(), payload.size(), wire::crc16_of(out.data(), out.size())));
    } else {
      for (uint8_t byte : check) out.push_back(byte);
    }
    for (uint8_t byte : payload) out.push_back(byte);
    return out;
  }
};

}  // namespace odp::format::test
