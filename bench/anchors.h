// The anchors odp is compared with (JPEG; WebP, AVIF and JPEG XL when built), in memory, and the search for
// the quality setting and downscale factor that gives the best PSNR within a byte budget.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "imageio/image.h"

namespace odp::bench {

using odp::base::Image;

// One way to encode with an anchor's library (e.g. JPEG 4:2:0). Quality runs from min_quality() to 100.
class AnchorMode {
 public:
  virtual ~AnchorMode() = default;
  virtual std::string name() const = 0;  // e.g. "420", "444", "m6"
  virtual int min_quality() const = 0;
  virtual std::vector<uint8_t> encode(const Image& image, int quality) const = 0;
};

// An anchor codec: its modes (all tried by the search) and its decoder.
struct Anchor {
  std::string name;  // "jpeg", "webp", "avif", "jxl"
  std::vector<std::unique_ptr<AnchorMode>> modes;
  // Its own decoder, for formats that codec's image reader does not read (AVIF, JPEG XL); empty: that reader.
  std::function<Image(const std::vector<uint8_t>&)> decoder;
  Image decode(const std::vector<uint8_t>& bytes) const;
};

// JPEG with optimised Huffman tables, baseline, chroma 4:2:0 and 4:4:4 as the two modes.
Anchor make_jpeg_anchor();
// WebP lossy, method 6 (slowest, smallest), default filter settings.
Anchor make_webp_anchor();
// AVIF through libavif (libaom's encoder when present), speed 6, chroma 4:2:0 and 4:4:4 (avif_anchor.cpp).
Anchor make_avif_anchor();
bool avif_anchor_available();  // built with libavif, and that libavif has an AV1 encoder
// JPEG XL through libjxl, lossy (VarDCT), effort 7, bare codestream (jxl_anchor.cpp).
Anchor make_jxl_anchor();
// Names of the anchors this build has, in report order: "jpeg", then "webp", "avif", "jxl" for the libraries
// found at configure time.
std::vector<std::string> available_anchors();
Anchor make_anchor(const std::string& name);  // throws BenchError for an unknown or unavailable name

// The downscale divisors tried before encoding (bicubic down, bicubic up after decoding).
const std::vector<double>& default_divisors();
std::string divisor_label(double divisor);  // "1", "1/2", ...

// One encoded candidate: which setting, its size, its PSNR after decoding and upscaling, and its cost.
struct Candidate {
  double divisor = 1;
  int mode = 0;
  int quality = 0;
  uint64_t bytes = 0;
  double psnr = 0;                                  // NaN until measured
  double encode_ms = 0;                             // resampling down + encoding
  double decode_ms = 0;                             // decoding + resampling up
  std::string setting(const Anchor& anchor) const;  // "q=37 1/2 420"
};

// Searches one anchor on one image. Encodes are cached, so many budgets on the same image cost little more
// than one. Assumes size and PSNR grow with quality (true for libjpeg and libwebp up to small wiggles).
class AnchorSearch {
 public:
  AnchorSearch(const Anchor& anchor, const Image& original,
               std::vector<double> divisors = default_divisors());

  // The best-PSNR candidate of at most `budget` bytes, or nothing when no setting fits ("cannot reach").
  std::optional<Candidate> best_within(uint64_t budget);
  // The smallest candidate whose PSNR reaches `target_psnr`, or nothing when none does.
  std::optional<Candidate> smallest_reaching(double target_psnr);
  // The decoded, upscaled image of a candidate.
  Image reconstruct(const Candidate& candidate);

  int encodes() const { return static_cast<int>(cache_.size()); }

 private:
  struct Key {
    int scale_index, mode, quality;
    bool operator<(const Key& o) const {
      return std::tie(scale_index, mode, quality) < std::tie(o.scale_index, o.mode, o.quality);
    }
  };
  Candidate& probe(int scale_index, int mode, int quality);     // encoded, size known
  Candidate& measured(int scale_index, int mode, int quality);  // also decoded and its PSNR known
  const Image& scaled(int scale_index);

  const Anchor& anchor_;
  const Image& original_;
  std::vector<double> divisors_;
  std::vector<std::optional<Image>> scaled_;
  std::vector<double> scale_ms_;
  std::map<Key, Candidate> cache_;
  // The most recent encoder output, so that measuring a fresh probe does not encode it twice.
  Key last_key_{-1, -1, -1};
  std::vector<uint8_t> last_bytes_;
};

}  // namespace odp::bench
