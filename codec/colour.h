// Colour management for encoding: pixels described by an ICC profile become sRGB (Little CMS), because .odp
// codes sRGB and records it in the header (spec/odp-format.md 5.1).
#pragma once

#include <string>

#include "base/image.h"

namespace odp::codec {

struct SrgbConversion {
  // The pixels are sRGB now: there was no profile (sRGB by convention), the profile was applied, or it
  // describes sRGB already (then the pixels are left exactly as they were).
  bool is_srgb = false;
  bool changed_pixels = false;
  // Empty, or what happened, for -v: the profile that was applied, or why Little CMS refused it (then
  // is_srgb is false and the pixels are untouched: the caller codes them as they are, colour unspecified).
  std::string message;
};

// Converts image.rgb from image.icc's colour space to sRGB in place (relative colorimetric with black point
// compensation, what "convert to profile" does in common editors). RGB and grey profiles are accepted;
// image.icc itself is left for the caller to keep or drop.
SrgbConversion convert_to_srgb(base::Image& image);

}  // namespace odp::codec
