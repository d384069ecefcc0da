// The .odp entropy coder: a carry-propagating 32-bit range coder over 16-bit integer frequencies, and the
// token model that maps (position, token) to a frequency interval. Internal to odp_format; see the spec's
// "Entropy coding" section, which this code implements bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "odp_format.h"

namespace odp::format::coding {

constexpr int kFrequencyBits = 16;  // every table sums to exactly 2^16
constexpr uint32_t kFrequencyTotal = 1u << kFrequencyBits;

// A symbol's slice [cumulative, cumulative + frequency) of the 2^16 total.
struct SymbolInterval {
  uint32_t cumulative = 0;
  uint32_t frequency = 0;
};

class RangeEncoder {
 public:
  void encode(SymbolInterval symbol);
  // Appends the fewest bytes that make every continuation decode all encoded symbols, returns the payload.
  std::vector<uint8_t> finish();

 private:
  void propagate_carry();
  void shift_out_byte();
  uint64_t low_ = 0;                    // bottom of the interval, 32 bits plus a pending carry bit
  uint64_t range_ = uint64_t{1} << 32;  // width of the interval
  std::vector<uint8_t> out_;
};

class RangeDecoder {
 public:
  // Bytes past `size` read as `padding` (0x00 or 0xFF when recovering a shortened payload).
  RangeDecoder(const uint8_t* data, size_t size, uint8_t padding);
  // The symbol's position within the 2^16 total (0..65535); look it up, then call consume with its interval.
  uint32_t target();
  void consume(SymbolInterval symbol);

 private:
  uint8_t next_byte();
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
  uint8_t padding_;
  uint64_t code_ = 0;  // value of the stream minus the interval bottom; always < range_
  uint64_t range_ = uint64_t{1} << 32;
  uint64_t step_ = 0;  // range_ >> 16 of the current symbol
};

// Probability model for one file: uniform, or per-position frequency tables (validated on construction).
class TokenModel {
 public:
  // positions_used: how many token positions the file has (tables are prepared only for those).
  TokenModel(const Header& header, const FrequencyTables& tables, int positions_used);
  SymbolInterval interval(int position, uint16_t token) const;
  // The token whose interval holds target (0..65535), and that interval.
  uint16_t token_at(int position, uint32_t target, SymbolInterval* interval) const;

 private:
  int table_index(int position) const;
  int codebook_bits_;
  bool uniform_;
  std::vector<std::vector<uint32_t>> cumulative_;  // per table: codebook_size + 1 running sums
};

}  // namespace odp::format::coding
