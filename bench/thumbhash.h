// ThumbHash (npm package `thumbhash`, run with the machine's Node.js) as the placeholder-end anchor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/image.h"

namespace odp::bench {

struct ThumbHashResult {
  std::vector<uint8_t> hash;  // the ThumbHash bytes (about 24)
  odp::base::Image image;     // decoded and upscaled (bicubic) to the original size
  double encode_ms = 0;       // downscale to <= 100x100 + rgbaToThumbHash (second, warm call in Node)
  double decode_ms = 0;       // thumbHashToRGBA + bicubic upscale
};

class ThumbHash {
 public:
  // Installs `thumbhash` with npm into cache_dir (once; later runs reuse it). Never throws: when node or npm
  // is missing or the install fails, available() is false and reason() says why.
  explicit ThumbHash(const std::string& cache_dir);
  bool available() const { return available_; }
  const std::string& reason() const { return reason_; }
  // Throws BenchError when Node fails or answers something unreadable.
  ThumbHashResult run(const odp::base::Image& image) const;

 private:
  std::string cache_dir_;
  bool available_ = false;
  std::string reason_;
};

}  // namespace odp::bench
