// The pixel image every layer passes around: 8-bit RGB with the metadata a file carried (no file I/O here).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace odp::base {

// 8-bit RGB, interleaved, rows top to bottom, no padding between rows.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;   // width * height * 3
  std::vector<uint8_t> icc;   // ICC profile as found in the input, or empty
  std::vector<uint8_t> exif;  // EXIF block (without the "Exif\0\0" prefix), or empty
  // Conversions made while reading that a user may want to know about (16-bit reduced to 8-bit, an opaque
  // alpha channel dropped, alpha flattened, EXIF orientation applied). Printed by the tools with -v.
  std::vector<std::string> notes;
  // What a user should hear about even without -v (only the first frame of an animation was read, only the
  // first page of a TIFF). Printed by the tools unless --quiet.
  std::vector<std::string> warnings;
};

}  // namespace odp::base
