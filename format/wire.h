// Byte-level building blocks of the .odp layout: LEB128, little-endian integers, CRC-32, CRC-16, a
// bounds-checked reader. Internal to odp_format (and its tests, which use it to build deliberately malformed
// files).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace odp::format::wire {

// Unsigned LEB128 as used by every variable-length field: 7 bits per byte, low group first, high bit =
// "more". Values in this format always fit 32 bits, so an encoding is at most 5 bytes.
void put_leb128(std::vector<uint8_t>& out, uint32_t value);
void put_u16le(std::vector<uint8_t>& out, uint16_t value);
void put_u32le(std::vector<uint8_t>& out, uint32_t value);
// zlib's CRC-32 (IEEE 802.3, the one in PNG and gzip).
uint32_t crc32_of(const uint8_t* data, size_t size);
// CRC-16/ARC (spec 1): continue from `crc` (0 to start), so header and payload can be covered in two calls.
uint16_t crc16_of(const uint8_t* data, size_t size, uint16_t crc = 0);

// Reads fields front to back; every read names its field so that running out of bytes or an ill-formed
// value produces a FormatError a user can act on.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8(const char* field);
  uint16_t u16le(const char* field);
  uint32_t u32le(const char* field);
  // Rejects non-minimal encodings (a trailing 0x00 group) and values that do not fit 32 bits.
  uint32_t leb128(const char* field);
  // Returns a pointer to the next n bytes and skips them.
  const uint8_t* bytes(size_t n, const char* field);
  size_t offset() const { return offset_; }
  size_t remaining() const { return size_ - offset_; }

 private:
  void need(size_t n, const char* field) const;
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

}  // namespace odp::format::wire
