// Rate control over resolution and tile overlap: the best file within a byte budget (internal to codec/).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
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
// decode_grid's steps, so that a search holding decoded tiles gets the decoder's image without the model:
// parse_for_model reads and checks the file against the model and gives the grid over its coded image;
// assemble_grid is everything after the model, tiles taken from `decode_tiles` in batches of `batch`
// (painted where flat, stitched, seams filtered, flat tiles repainted).
format::TokenFile parse_for_model(const uint8_t* data, size_t size, const model::ModelInfo& info,
                                  const DecodeOptions& options, TileGrid* grid);
// Fills tiles first..first+n-1 of the file as the model decodes them (its prefixes as the file keeps them):
// bytes (TileModel::decode_bytes's layout) where the grid has no overlap, else floats (TileModel::decode's);
// the other pointer is null.
using TileSource = std::function<void(int first, int n, uint8_t* bytes, float* floats)>;
Image assemble_grid(const format::TokenFile& file, const TileGrid& grid, int batch,
                    const DecodeOptions& options, const TileSource& decode_tiles);
// The entropy coder's tables that a model's files use (empty: uniform, codebook_bits per token).
format::FrequencyTables tables_for(const model::ModelInfo& info);

// The steps of encode_coded, for searches that code one copy several ways: the grid over a coded size
// (kAutoOverlap: choose_overlap; refuses more tiles than the format holds), the model's tokens for every tile
// of it (all num_tokens each, tile-major; progress reports tiles done out of `total`), and the file keeping
// keep[i] tokens of tile i (flat tiles keep one; kSize: the longest prefix fitting max_bytes), without the
// model. check_rate refuses (kUsage) a rate's out-of-range parameter before anything slow.
TileGrid coded_grid(int coded_width, int coded_height, int tile, int tile_overlap);
std::vector<uint16_t> encode_tiles(const Image& coded, const TileGrid& grid, model::TileModel& model,
                                   const ProgressFn& progress, int64_t total);
EncodeResult write_coded(const Image& image, const Image& coded, const TileGrid& grid,
                         const std::vector<uint16_t>& tokens, std::vector<int> keep,
                         const model::ModelInfo& info, const EncodeOptions& options);
void check_rate(const EncodeOptions& options);

// One coded size and tile overlap that a search over resolution may code.
struct ScaleCandidate {
  int width = 0, height = 0, overlap = 0;
  bool operator==(const ScaleCandidate& other) const {
    return width == other.width && height == other.height && overlap == other.overlap;
  }
};
// The candidates of the searches over resolution, per divisor of kSizeDivisors (largest copy first; a
// divisor whose size repeats the previous one's, or whose shorter side is below kMinCodedSide, is left out),
// each with its overlap rules: with kAutoOverlap overlap 0, the free overlap when it differs, kBlendOverlap
// over a copy shrunk per axis to keep the tile count, and the copy stretched per axis to fill its tiles
// whole (once over all sizes); a forced overlap gives one rule per size. No candidate appears twice.
std::vector<std::vector<ScaleCandidate>> scale_candidates(int width, int height, int tile, int tile_overlap);

// Where a search's wall time went, in seconds summed over its candidates (for benchmarks; the model's own
// share of encode and decode is for the caller to time, e.g. around TileModel's calls).
struct SizeSearchTimes {
  double resample = 0;        // the coded copies: base::resize_bicubic of the image, once per coded size
  double encode = 0;          // the model's tokens for each candidate and the files made from them
  double decode = 0;          // decode_grid of each file measured (and refine's files from held tiles)
  double upsample = 0;        // finish_decode: the decoded copy back to the image's size
  double psnr = 0;            // measuring it against the image
  int candidates = 0;         // candidates the model encoded (those that fit or not)
  int refine_decodes = 0;     // kTargetPsnr's refinement: tiles it decoded
  int refine_mismatches = 0;  // refined files whose full decode's PSNR differed from the held tiles' one
  std::vector<ScaleCandidate> encoded;  // those candidates, in order (each at most once)
};

// kSize without a forced scale: every candidate of scale_candidates() encoded at the full token count and
// fitted to max_bytes, decoded, upsampled, and measured against `image`; the candidate of the highest PSNR
// wins. Stops early once two scales in a row measured worse than the best, or once the best keeps every
// token. Fails as kSize does (naming the smallest possible file) when no candidate fits.
// With `times`, adds its phases' wall time there.
EncodeResult encode_within_size(const Image& image, model::TileModel& model, const EncodeOptions& options,
                                SizeSearchTimes* times = nullptr);

// kTargetPsnr (kEqualSlope): the smallest file whose decoded image, upsampled to the image's size, reaches
// target_psnr against `image` (ties: the higher PSNR), among scale_candidates() or, with a forced scale, that
// one size. The fallback (the forced size, else the full size at the image's own overlap) is measured at
// equal_slope_lengths and its first file is the allocation on that size alone (encode_at's, at
// target_psnr); every other copy is encoded by the model once, with one table of slope errors at
// octave_lengths, and a copy with as many tiles as the fallback is not tried (it would cost a second
// full-size encode). A copy's coded target starts from the error its resolution alone costs (the copy
// upsampled without coding: the target's squared error less that one is what its tokens may add), and the
// measured PSNR corrects it (at most kPsnrAllocations files per copy; the fallback's too, since the
// allocation reaches its target before the decoder's seam filters); then one count for all tiles, among the
// counts whose file is smaller than the best so far, from the table's estimate corrected by the measured PSNR
// (at most kOneCountFiles more files per copy), the smaller file reaching the target being the copy's. A
// copy whose resolution alone misses the target is not encoded. After a scale whose every copy misses the
// target even with every token, no smaller one is tried (a smaller copy is assumed not to do better); nor
// after two scales in a row that found no smaller file. When no file reaches the target, the result is the
// fallback's first file (from the same model encode: no coded size and overlap is encoded twice). The
// search's best file is then refined exactly on its copy (with `refine`; off only to measure its gain):
// tokens cut one tile at a time, or moved between tiles, while the decoded image, the decoder's own, still
// reaches the target (PsnrRate::refine). With `times`, adds its phases' wall time there.
EncodeResult encode_to_psnr(const Image& image, model::TileModel& model, const EncodeOptions& options,
                            SizeSearchTimes* times = nullptr, bool refine = true);
// encode_to_psnr's files per copy: the estimate and up to two corrections from the measured PSNR.
constexpr int kPsnrAllocations = 3;
// encode_to_psnr's files per copy with one count for all tiles, after those.
constexpr int kOneCountFiles = 2;

// kTargetPsnr with Allocation::kEqualSlope: per tile, the squared error at each of equal_slope_lengths()
// (batched decodes), then one Lagrange multiplier for all tiles: each tile keeps the length that minimises
// its squared error + lambda x length, and lambda is the largest whose total squared error reaches target_db
// over the whole coded image (equal slope of error per token across tiles, so a flat sky stops early and a
// tree line gets more). Out of reach, the target becomes kAdaptiveSlackDb below the least error's PSNR.
// Returns tokens per tile. It is measure_slope_errors then choose_equal_slope, which a caller trying
// several targets on one copy calls apart (one table, many targets).
std::vector<int> allocate_equal_slope(const Image& image, const TileGrid& grid,
                                      const std::vector<uint16_t>& tokens, model::TileModel& model,
                                      double target_db, const ProgressFn& progress, int64_t done,
                                      int64_t total);
// Per tile, its squared error over its pixels inside the image at each prefix length.
struct SlopeErrors {
  std::vector<int> lengths;   // increasing, the last num_tokens: equal_slope_lengths or octave_lengths
  std::vector<double> error;  // [tile * lengths.size() + k]: tile's squared error keeping lengths[k] tokens
  size_t values = 0;          // samples compared over all tiles
  int tiles = 0;
  double least() const;  // the smallest total squared error any choice of lengths gives
};
SlopeErrors measure_slope_errors(const Image& image, const TileGrid& grid,
                                 const std::vector<uint16_t>& tokens, model::TileModel& model,
                                 std::vector<int> lengths, const ProgressFn& progress, int64_t done,
                                 int64_t total);
std::vector<int> choose_equal_slope(const SlopeErrors& errors, double target_db, int num_tokens,
                                    int codebook_bits);
// The prefix lengths allocate_equal_slope measures: about two per octave, up to num_tokens.
std::vector<int> equal_slope_lengths(int num_tokens);
// One per octave (1, 2, 4, ..., num_tokens): what encode_to_psnr measures on copies other than the full
// size, whose measured PSNR corrects the coarser allocation, for fewer decodes.
std::vector<int> octave_lengths(int num_tokens);

// Squared error of one decoded tile (TileModel::decode_bytes layout) over its pixels inside the image;
// *values receives the number of samples compared.
double tile_squared_error(const Image& image, const TileGrid& grid, int tile_index, const uint8_t* decoded,
                          size_t* values);

}  // namespace detail
}  // namespace odp::codec
