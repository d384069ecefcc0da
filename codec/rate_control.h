// Rate control over resolution and tile overlap: the best file within a byte budget (internal to codec/).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "codec/odp.h"
#include "codec/tiling.h"
#include "format/odp_format.h"

namespace odp::codec {

// The downscale divisors kSize tries without a forced scale (coded size = round(size / divisor)), the
// largest image first: the anchors' set (bench/anchors.h) down to 1/8. 1/1.5 was measured and dropped: on
// Kodak it never beat both 1 and 1/2 (scripts/rate_candidates.sh; docs/performance.md).
constexpr std::array<double, 6> kSizeDivisors = {1, 2, 3, 4, 6, 8};
// A coded side shorter than this is not tried (unless the image itself is that small): the model's tiles
// hold far more, so it only loses detail.
constexpr int kMinCodedSide = 16;

// The overlap of kSize's blended candidate: the narrowest blend that hid the seams at 256 tokens (the earlier
// default overlap), obtained by shrinking the coded copy per axis rather than by adding tiles.
constexpr int kBlendOverlap = 32;

namespace detail {

// encode() for a coded size the caller chose (1..width x 1..height; the image's own size: no scaling).
EncodeResult encode_at(const Image& image, int coded_width, int coded_height, model::TileModel& model,
                       const EncodeOptions& options);
// encode_at() given the coded copy itself: `coded` is `image`, or base::resize_bicubic of it to the coded
// size (what encode_at makes), so that a caller coding one size several times resamples once.
EncodeResult encode_coded(const Image& image, const Image& coded, model::TileModel& model,
                          const EncodeOptions& options);

// decode() in two steps: decode_grid stops at the coded size (tiles decoded and stitched, seams filtered,
// flat tiles painted) and hands over the parsed file; finish_decode brings that image to the file's size
// (bicubic), makes it grey where the file says so and attaches its metadata. decode() is the two in turn.
Image decode_grid(const uint8_t* data, size_t size, model::TileModel& model, const DecodeOptions& options,
                  format::TokenFile* file);
void finish_decode(Image& image, const format::TokenFile& file);

// Where encode_within_size's wall time went, in seconds summed over its candidates (for benchmarks; the
// model's own share of encode and decode is for the caller to time, e.g. around TileModel's calls).
struct SizeSearchTimes {
  double resample = 0;  // the coded copies: base::resize_bicubic of the image, once per coded size
  double encode = 0;    // encode_coded: tiling, the model's encode, flat tiles, fitting to the budget
  double decode = 0;    // decode_grid of each fitted file: parsing, the model's decode, stitching, seams
  double upsample = 0;  // finish_decode: the decoded copy back to the image's size
  double psnr = 0;      // measuring it against the image
  int candidates = 0;   // candidates encoded (those that fit or not)
};

// kSize without a forced scale: every candidate of kSizeDivisors x the overlap rules (with kAutoOverlap: 0,
// the default free overlap when it differs, kBlendOverlap over a copy shrunk per axis to keep the tile
// count, and the copy stretched per axis to fill its tiles whole, once per size) encoded at the full token
// count and fitted to
// max_bytes, decoded, upsampled, and measured against `image`; the candidate of the highest PSNR wins. Stops
// early once two scales in a row measured worse than the best, or once the best keeps every token. Fails as
// kSize does (naming the smallest possible file) when no candidate fits.
// With `times`, adds its phases' wall time there.
EncodeResult encode_within_size(const Image& image, model::TileModel& model, const EncodeOptions& options,
                                SizeSearchTimes* times = nullptr);

// kTargetPsnr with Allocation::kEqualSlope: per tile, the squared error at each of equal_slope_lengths()
// (batched decodes), then one Lagrange multiplier for all tiles: each tile keeps the length that minimises
// its squared error + lambda x length, and lambda is the largest whose total squared error reaches target_db
// over the whole coded image (equal slope of error per token across tiles, so a flat sky stops early and a
// tree line gets more). Out of reach, the target becomes kAdaptiveSlackDb below the least error's PSNR.
// Returns tokens per tile.
std::vector<int> allocate_equal_slope(const Image& image, const TileGrid& grid,
                                      const std::vector<uint16_t>& tokens, model::TileModel& model,
                                      double target_db, const ProgressFn& progress, int64_t done,
                                      int64_t total);
// The prefix lengths allocate_equal_slope measures: about two per octave, up to num_tokens.
std::vector<int> equal_slope_lengths(int num_tokens);

// Squared error of one decoded tile (TileModel::decode_bytes layout) over its pixels inside the image;
// *values receives the number of samples compared.
double tile_squared_error(const Image& image, const TileGrid& grid, int tile_index, const uint8_t* decoded,
                          size_t* values);

}  // namespace detail
}  // namespace odp::codec
