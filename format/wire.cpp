// LEB128, little-endian, CRC-32 and CRC-16 helpers plus the bounds-checked field reader behind the .odp
// parser.
#include "wire.h"

#include <zlib.h>

#include <string>

#include "odp_format.h"

namespace odp::format::wire {

void put_leb128(std::vector<uint8_t>& out, uint32_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<uint8_t>(value));
}

void put_u16le(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value));
  out.push_back(static_cast<uint8_t>(value >> 8));
}

void put_u32le(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

uint32_t crc32_of(const uint8_t* data, size_t size) {
  // crc32_z takes a size_t length, so any input size is covered in one call.
  return static_cast<uint32_t>(crc32_z(0, size ? data : Z_NULL, size));
}

namespace {
// CRC-16/ARC one byte at a time: entry b is the bitwise algorithm of the spec applied to crc = b.
struct Crc16Table {
  uint16_t entry[256];
  Crc16Table() {
    for (int byte = 0; byte < 256; ++byte) {
      uint16_t crc = static_cast<uint16_t>(byte);
      for (int bit = 0; bit < 8; ++bit)
        crc = static_cast<uint16_t>((crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1);
      entry[byte] = crc;
    }
  }
};
}  // namespace

uint16_t crc16_of(const uint8_t* data, size_t size, uint16_t crc) {
  static const Crc16Table table;
  for (size_t i = 0; i < size; ++i)
    crc = static_cast<uint16_t>((crc >> 8) ^ table.entry[(crc ^ data[i]) & 0xFF]);
  return crc;
}

void ByteReader::need(size_t n, const char* field) const {
  if (n > remaining()) {
    throw FormatError("file ends inside the header: field '" + std::string(field) + "' at byte " +
                      std::to_string(offset_) + " needs " + std::to_string(n) + " byte(s), only " +
                      std::to_string(remaining()) + " left (file truncated?)");
  }
}

uint8_t ByteReader::u8(const char* field) {
  need(1, field);
  return data_[offset_++];
}

uint16_t ByteReader::u16le(const char* field) {
  need(2, field);
  const uint16_t value = static_cast<uint16_t>(data_[offset_] | (data_[offset_ + 1] << 8));
  offset_ += 2;
  return value;
}

uint32_t ByteReader::u32le(const char* field) {
  need(4, field);
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(data_[offset_ + i]) << (8 * i);
  offset_ += 4;
  return value;
}

uint32_t ByteReader::leb128(const char* field) {
  const size_t start = offset_;
  const auto fail = [&](const char* why) {
    return FormatError("field '" + std::string(field) + "' at byte " + std::to_string(start) + ": " + why);
  };
  uint32_t value = 0;
  for (int group = 0; group < 5; ++group) {
    const uint8_t byte = u8(field);
    // The fifth group holds bits 28..31 only, and it must be the last.
    if (group == 4 && (byte & 0xF0) != 0) throw fail("LEB128 value does not fit 32 bits");
    value |= static_cast<uint32_t>(byte & 0x7F) << (7 * group);
    if ((byte & 0x80) == 0) {
      if (group > 0 && byte == 0) throw fail("non-minimal LEB128 encoding (trailing zero group)");
      return value;
    }
  }
  throw fail("LEB128 longer than 5 bytes");  // unreachable: group 4 returned or failed above
}

const uint8_t* ByteReader::bytes(size_t n, const char* field) {
  need(n, field);
  const uint8_t* at = data_ + offset_;
  offset_ += n;
  return at;
}

}  // namespace odp::format::wire
