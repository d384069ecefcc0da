// Range coder and token model for the .odp payload (integer-only, so every platform decodes identically).
#include "range_coder.h"

#include <algorithm>
#include <string>

namespace odp::format::coding {

namespace {
constexpr uint64_t kTop = uint64_t{1} << 32;
constexpr uint64_t kRenormBelow = uint64_t{1} << 24;  // keep at least 24 bits of range: step >= 2^8

// The last symbol of the alphabet also takes the rounding remainder range - step * 2^16, so the symbol
// intervals tile [0, range) exactly and every byte string decodes to something (needed for cut payloads).
uint64_t narrowed_range(uint64_t range, uint64_t step, SymbolInterval symbol) {
  if (symbol.cumulative + symbol.frequency == kFrequencyTotal) return range - step * symbol.cumulative;
  return step * symbol.frequency;
}
}  // namespace

void RangeEncoder::propagate_carry() {
  // The coded value never exceeds 1.0, so a carry always stops at a byte below 0xFF inside out_.
  auto byte = out_.rbegin();
  while (*byte == 0xFF) *byte++ = 0x00;
  ++*byte;
}

void RangeEncoder::shift_out_byte() {
  out_.push_back(static_cast<uint8_t>(low_ >> 24));
  low_ = (low_ << 8) & (kTop - 1);
  range_ <<= 8;
}

void RangeEncoder::encode(SymbolInterval symbol) {
  const uint64_t step = range_ >> kFrequencyBits;
  low_ += step * symbol.cumulative;
  range_ = narrowed_range(range_, step, symbol);
  if (low_ >= kTop) {
    low_ -= kTop;
    propagate_carry();
  }
  while (range_ < kRenormBelow) shift_out_byte();
}

std::vector<uint8_t> RangeEncoder::finish() {
  // Pick the fewest bytes k such that some aligned block [v * 2^(32-8k), (v+1) * 2^(32-8k)) lies inside
  // [low, low + range): any continuation then stays inside the final interval. range >= 2^24 makes k <= 2.
  for (int bytes = 1; bytes <= 4; ++bytes) {
    const int shift = 32 - 8 * bytes;
    const uint64_t block = uint64_t{1} << shift;
    const uint64_t value = (low_ + block - 1) >> shift;  // smallest aligned block start >= low
    if (((value + 1) << shift) <= low_ + range_) {
      low_ = value << shift;
      if (low_ >= kTop) {
        low_ -= kTop;
        propagate_carry();
      }
      for (int i = 0; i < bytes; ++i) shift_out_byte();
      break;
    }
  }
  return std::move(out_);
}

RangeDecoder::RangeDecoder(const uint8_t* data, size_t size, uint8_t padding)
    : data_(data), size_(size), padding_(padding) {
  for (int i = 0; i < 4; ++i) code_ = (code_ << 8) | next_byte();
}

uint8_t RangeDecoder::next_byte() { return offset_ < size_ ? data_[offset_++] : padding_; }

uint32_t RangeDecoder::target() {
  step_ = range_ >> kFrequencyBits;
  // Values in the last symbol's remainder give code / step >= 2^16: they belong to the last symbol.
  return static_cast<uint32_t>(std::min<uint64_t>(code_ / step_, kFrequencyTotal - 1));
}

void RangeDecoder::consume(SymbolInterval symbol) {
  code_ -= step_ * symbol.cumulative;
  range_ = narrowed_range(range_, step_, symbol);
  while (range_ < kRenormBelow) {
    code_ = (code_ << 8) | next_byte();
    range_ <<= 8;
  }
}

TokenModel::TokenModel(const Header& header, const FrequencyTables& tables, int positions_used)
    : codebook_bits_(header.codebook_bits), uniform_(header.entropy_model == EntropyModel::kUniform) {
  if (uniform_) return;
  const uint32_t codebook_size = 1u << codebook_bits_;
  if (tables.empty()) {
    throw FormatError(
        "the file uses per-position frequency tables (entropy model 1) but none were supplied; "
        "load the model file that wrote it");
  }
  if (tables.codebook_size != codebook_size) {
    throw FormatError("frequency tables are for a codebook of " + std::to_string(tables.codebook_size) +
                      " codes, the file has " + std::to_string(codebook_size));
  }
  const size_t table_count = std::min<size_t>(tables.per_position.size(), std::max(positions_used, 1));
  cumulative_.resize(table_count);
  for (size_t p = 0; p < table_count; ++p) {
    const std::vector<uint16_t>& frequencies = tables.per_position[p];
    if (frequencies.size() != codebook_size) {
      throw FormatError("frequency table for position " + std::to_string(p) + " has " +
                        std::to_string(frequencies.size()) + " entries, expected " +
                        std::to_string(codebook_size));
    }
    std::vector<uint32_t>& sums = cumulative_[p];
    sums.resize(codebook_size + 1);
    sums[0] = 0;
    for (uint32_t code = 0; code < codebook_size; ++code) {
      if (frequencies[code] == 0) {
        throw FormatError("frequency table for position " + std::to_string(p) + ": code " +
                          std::to_string(code) + " has frequency 0 (every code needs >= 1)");
      }
      sums[code + 1] = sums[code] + frequencies[code];
    }
    if (sums[codebook_size] != kFrequencyTotal) {
      throw FormatError("frequency table for position " + std::to_string(p) + " sums to " +
                        std::to_string(sums[codebook_size]) + ", must be 65536");
    }
  }
}

int TokenModel::table_index(int position) const {
  return std::min(position, static_cast<int>(cumulative_.size()) - 1);
}

SymbolInterval TokenModel::interval(int position, uint16_t token) const {
  if (uniform_) {
    const int shift = kFrequencyBits - codebook_bits_;
    return {uint32_t{token} << shift, 1u << shift};
  }
  const std::vector<uint32_t>& sums = cumulative_[table_index(position)];
  return {sums[token], sums[token + 1] - sums[token]};
}

uint16_t TokenModel::token_at(int position, uint32_t target, SymbolInterval* interval_out) const {
  uint16_t token;
  if (uniform_) {
    token = static_cast<uint16_t>(target >> (kFrequencyBits - codebook_bits_));
  } else {
    const std::vector<uint32_t>& sums = cumulative_[table_index(position)];
    // sums[0] = 0 <= target < 65536 = sums.back(), so the token is the last index whose sum is <= target.
    token = static_cast<uint16_t>(std::upper_bound(sums.begin(), sums.end(), target) - sums.begin() - 1);
  }
  *interval_out = interval(position, token);
  return token;
}

}  // namespace odp::format::coding
