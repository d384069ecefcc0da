// kSize's search over the coded image's scale and the tile overlap, measured by decoding each candidate.
#include "codec/rate_control.h"

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "base/resample.h"
#include "codec/tiling.h"

namespace odp::codec::detail {

EncodeResult encode_within_size(const Image& image, model::TileModel& model, const EncodeOptions& options) {
  const int tile = model.info().config.tile_size;
  struct Candidate {
    int width, height, overlap;
  };
  std::vector<std::vector<Candidate>> by_scale;  // per divisor, its overlap rules
  for (double divisor : kSizeDivisors) {
    int width = 0, height = 0;
    base::scaled_size(image.width, image.height, divisor, &width, &height);
    if (divisor != 1 && std::min(width, height) < kMinCodedSide) break;
    if (!by_scale.empty() && by_scale.back().front().width == width && by_scale.back().front().height == height)
      continue;
    std::vector<Candidate> rules;
    if (options.tile_overlap != kAutoOverlap) {
      rules.push_back({width, height, options.tile_overlap});
    } else {
      // Wider overlaps that cost tiles lost at every budget measured (docs/performance.md).
      const int free = choose_overlap(width, height, tile, std::min(kDefaultMinOverlap, tile / 2));
      rules.push_back({width, height, 0});
      if (free != 0) rules.push_back({width, height, free});
    }
    by_scale.push_back(rules);
  }
  int total = 0;
  for (const auto& rules : by_scale) total += static_cast<int>(rules.size());

  std::optional<EncodeResult> best;
  double best_psnr = -std::numeric_limits<double>::infinity();
  std::optional<CodecError> smallest_failure;  // from the smallest candidate tried: the smallest file
  int tried = 0, worse_in_a_row = 0;
  constexpr int64_t kUnits = 1000;  // progress units per candidate
  for (const auto& rules : by_scale) {
    double scale_psnr = -std::numeric_limits<double>::infinity();
    for (const Candidate& candidate : rules) {
      EncodeOptions one = options;
      one.tile_overlap = candidate.overlap;
      const int64_t base_units = tried * kUnits;
      one.progress = [&](int64_t done, int64_t of) {
        if (options.progress && of > 0) options.progress(base_units + done * kUnits / of, total * kUnits);
      };
      ++tried;
      EncodeResult result;
      try {
        result = encode_at(image, candidate.width, candidate.height, model, one);
      } catch (const CodecError& error) {
        if (error.kind() != ErrorKind::kUsage) throw;
        smallest_failure = error;  // does not fit at this scale and overlap
        continue;
      }
      const double psnr = base::psnr(image, decode(result.bytes.data(), result.bytes.size(), model));
      scale_psnr = std::max(scale_psnr, psnr);
      if (psnr > best_psnr) {
        best_psnr = psnr;
        best = std::move(result);
      }
    }
    worse_in_a_row = best && scale_psnr < best_psnr ? worse_in_a_row + 1 : 0;
    if (worse_in_a_row >= 2) break;
  }
  if (!best) throw *smallest_failure;
  best->stats.candidates = tried;
  if (options.progress) options.progress(total * kUnits, total * kUnits);
  return std::move(*best);
}

}  // namespace odp::codec::detail
