// A file's 64-bit FNV-1a fingerprint: benchmarks and tests compare chosen files by it, not a checksum of
// record.
#pragma once

#include <cstdint>
#include <vector>

namespace odp::base {

inline uint64_t fingerprint(const std::vector<uint8_t>& bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (uint8_t byte : bytes) hash = (hash ^ byte) * 1099511628211ull;
  return hash;
}

}  // namespace odp::base
