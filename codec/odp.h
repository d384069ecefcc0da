// The odp codec's public API (in the style of libwebp): encode an Image to .odp bytes, decode, truncate,
// inspect.
//
// Quality mapping (used by --quality everywhere): Q in 0..100 -> tokens per tile = round(256^(Q/100)),
// clamped to 1..256 and then to the model's token count. So Q=0 -> 1, Q=25 -> 4, Q=50 -> 16, Q=75 -> 64,
// Q=100 -> 256. Each step of 12.5 doubles the tokens (and roughly the bytes).
//
// Rate control: kTokens/kQuality keep one token count for every tile. kSize encodes at the full token count
// and keeps the longest token-major prefix that fits the budget (always fits, or fails naming the smallest
// possible size); unless EncodeOptions::scale forces one, it does so for each of kSizeDivisors (the image
// downscaled, bicubic, and the file recording the coded size) and, with kAutoOverlap, for overlap 0, the
// free overlap and a blended grid (rate_control.h), decodes every fitted candidate and keeps the one of the
// best PSNR against the original (rate_control.h). kTargetPsnr (adaptive) by default allocates tokens across
// tiles at equal slope of squared error per token until the whole image reaches the target, measures the
// decoded file and corrects the allocation, tries one count for all tiles where that gives a smaller file
// reaching the target, and unless EncodeOptions::scale forces one size, searches kSize's
// candidates for the smallest such file (rate_control.h);
// with Allocation::kPerTileTarget (after Duggal et al.) it keeps, per tile, the shortest prefix whose decoded
// tile reaches the target (binary search, tiles batched; a tile that cannot reach it stops within
// kAdaptiveSlackDb of its all-token PSNR).
//
// Seams: by default (kAutoOverlap) tiles overlap only where that costs no tile: where the image does not fill
// its tiles exactly, the pixels that would be padding become overlap (choose_overlap in tiling.h with
// kDefaultMinOverlap = 0), and the decoder blends them linearly. A forced overlap of 32 (the old default,
// which hid the seams better in busy regions) costs tiles, i.e. bytes: a 768x512 image needs 12 tiles
// instead of 6, and at equal bytes that lost PSNR at every budget measured (docs/performance.md). With
// tile_overlap = 0 the decoder hides the borders instead: a wide low-frequency correction evens out the
// tiles' colour casts (DecodeOptions::seam_cast_radius), then a short gradient-preserving cross-seam filter
// removes what is left of sharp steps (DecodeOptions::seam_filter_radius); faint seams stay visible in busy
// regions.
//
// Every function here throws only CodecError (base::Error); its kind() says whether the input, I/O or the
// model failed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/image.h"
#include "base/psnr.h"
#include "model/tile_model.h"

namespace odp::codec {

using base::Image;
using CodecError = base::Error;
using base::ErrorKind;

// Tokens per tile for a quality Q in 0..100 (see the mapping above); Q outside 0..100 throws kUsage.
int tokens_for_quality(double quality);

// EncodeOptions::tokens_by_area: `tokens` scaled by the share of one tile x tile the image covers (at least
// 1, rounded up); images of a tile or more keep `tokens`.
int tokens_for_area(int tokens, int width, int height, int tile);

// Called as work progresses: done out of total units (tiles times passes). May be empty.
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

// The largest .odp file the format allows: 65536 tiles x 256 tokens x 16 bits, 64 MiB of metadata, headers.
constexpr uint64_t kMaxOdpFileBytes = 100ull << 20;

enum class RateControl { kTokens, kQuality, kSize, kTargetPsnr };

// kTargetPsnr: how close to its all-token PSNR a tile that cannot reach the target gets, in dB. Past that the
// curve is nearly flat and more tokens buy almost nothing.
constexpr double kAdaptiveSlackDb = 0.25;

constexpr int kAutoOverlap = -1;       // EncodeOptions::tile_overlap: choose_overlap(..., kDefaultMinOverlap)
constexpr int kDefaultMinOverlap = 0;  // overlap only where it is free (see Seams)
constexpr double kAutoScale = 0;       // EncodeOptions::scale: chosen by rate control

// The encoder's arithmetic on CUDA (see model::GpuEncodePrecision): kTf32 (the default), kBf16 (fastest) or
// kFp32 (closest to the CPU's tokens). The CPU encoder and all decoding ignore it.
using GpuPrecision = model::GpuEncodePrecision;
// Parses "tf32", "bf16" or "fp32" (odpenc --gpu-precision); anything else throws kUsage naming the choices.
// Defined in odp_codec beside load_model, since it needs the model library (odp_codec_core alone lacks it).
GpuPrecision parse_gpu_precision(const std::string& name);

struct EncodeOptions {
  RateControl rate = RateControl::kTokens;
  int tokens = 256;         // kTokens: tokens per tile, 1..256 (clamped to the model's count)
  double quality = 75;      // kQuality: 0..100
  uint64_t max_bytes = 0;   // kSize: file budget in bytes
  double target_psnr = 32;  // kTargetPsnr: PSNR target in dB (the image's, or each tile's: see allocation)
  // kTargetPsnr: kEqualSlope (default) spends tokens where they remove the most error per token until the
  // whole image reaches target_psnr; kPerTileTarget (the earlier adaptive mode) gives every tile the
  // shortest prefix reaching target_psnr on its own pixels.
  enum class Allocation { kEqualSlope, kPerTileTarget } allocation = Allocation::kEqualSlope;
  int tile_overlap = kAutoOverlap;  // pixels shared by neighbouring tiles, 0..tile-1; kAutoOverlap: see Seams
  // The coded image's size over the image's, 0 < scale <= 1: the tokens code a bicubic downscale of
  // max(1, round(width * scale)) x max(1, round(height * scale)) pixels, which the decoder upsamples back
  // (spec 5.2). 0 (kAutoScale): kSize and kTargetPsnr (kEqualSlope) search the scale (and, with
  // kAutoOverlap, the overlap); the other modes code the image at its size.
  double scale = kAutoScale;
  // kTokens/kQuality: an image smaller than one tile gets its token count times its share of the tile's
  // area, at least 1 (a 64x64 image at 64 tokens gets 4); what odpenc does when no rate is given.
  bool tokens_by_area = false;
  bool keep_metadata = true;  // carry ICC profile and EXIF into the file
  // The pixels' colour space, recorded in the file: kAuto says sRGB unless the image carries an ICC profile
  // (then unspecified: encode() codes pixels as they are). odpenc converts to sRGB first (convert_to_srgb).
  enum class Colour { kAuto, kSrgb, kUnspecified } colour = Colour::kAuto;
  // The model encodes at this precision for the call; its own setting is back when encode() returns.
  GpuPrecision gpu_precision = GpuPrecision::kTf32;
  ProgressFn progress;
};

// What an encode did, for -v and for benchmarks.
struct EncodeStats {
  int tiles = 0;
  int coded_width = 0, coded_height = 0;  // the size the tokens code (the image's unless downscaled)
  int tile_overlap = 0;
  int candidates = 1;      // model encodes (copies) tried by kSize's or kTargetPsnr's search
  double mean_tokens = 0;  // tokens per tile actually kept, averaged over tiles
  uint64_t bytes = 0;      // size of the .odp file
};

struct EncodeResult {
  std::vector<uint8_t> bytes;  // the .odp file
  EncodeStats stats;
};

EncodeResult encode(const Image& image, model::TileModel& model, const EncodeOptions& options = {});

// What a decoder refuses before it allocates, so that its memory and time follow what the input can justify
// (a few bytes must not make it decode gigapixels). The defaults are the format's own bounds (spec 9.3),
// which every odp file can meet; a library user embedding the decoder sets lower ones (the tools'
// --max-pixels). Peak memory of decode() is about max_pixels x 3 bytes for the image plus, with overlap, tile
// x width x 12 bytes for the rows being blended (TileStitcher), plus the model's batch.
struct DecodeLimits {
  uint64_t max_pixels = 1ull << 28;             // width x height of the decoded image
  uint32_t max_tiles = 1u << 16;                // tiles of the grid
  uint32_t max_tiles_per_payload_byte = 8;      // tiles beyond the first 64 need a payload byte per 8 tiles
  uint64_t max_metadata_bytes = 64u << 20;      // ICC + EXIF, stored and decompressed
  uint64_t max_input_bytes = kMaxOdpFileBytes;  // the tools' read of a .odp file (base::read_file's cap)
};

struct DecodeOptions {
  int max_tokens = 0;         // 0: all tokens the file holds; else decode at most this many per tile
  int seam_cast_radius = 96;  // pixels each side of a seam over which tiles' colour casts are evened (0: off)
  int seam_filter_radius = 4;  // pixels each side of a seam smoothed when tiles do not overlap (0: off)
  ProgressFn progress;
  DecodeLimits limits;
};

// Refuses (kModel) a file whose model id differs from the model's, naming both ids, and (kBadInput) one
// beyond options.limits, naming the limit, before any pixel or tile memory is allocated.
Image decode(const uint8_t* data, size_t size, model::TileModel& model, const DecodeOptions& options = {});

// Reads a .odp file ("-": stdin) of at most max_bytes; input that does not start with the format's signature
// is refused (kBadInput) from its first bytes, before the rest is read (odpdec - < /dev/zero).
std::vector<uint8_t> read_odp_file(const std::string& path, uint64_t max_bytes = kMaxOdpFileBytes);

// The checks of decode()'s first step, without the model: header, limits, tiles per payload byte. The tools
// run it before they load the model (kBadInput naming the limit).
void check_decode_limits(const uint8_t* data, size_t size, const DecodeLimits& limits = {});

// Truncation without running the model. Exactly one of tokens / quality / max_bytes is used:
// tokens > 0 wins, then quality >= 0, then max_bytes > 0.
struct TruncateOptions {
  int tokens = 0;
  double quality = -1;
  uint64_t max_bytes = 0;
};
// Needs the model's frequency tables only when the file uses position tables (then pass the model's info,
// whose model_id must match the file's); pass nullptr otherwise. True if the file needs tables: see
// inspect().
std::vector<uint8_t> truncate(const uint8_t* data, size_t size, const TruncateOptions& options,
                              const model::ModelInfo* model_info = nullptr);

// A summary of a .odp file read without the model (no entropy decoding).
struct FileInfo {
  uint32_t width = 0, height = 0, tile_size = 0, tile_overlap = 0;
  uint32_t coded_width = 0,
           coded_height = 0;  // what the tokens code (spec 5.2): width x height unless scaled
  uint32_t tiles_x = 0, tiles_y = 0;
  uint32_t model_id = 0;
  int model_id_bits = 32;  // bits of model_id the file holds: 32 (format version 1) or 16 (version 2)
  int format_version = 0;
  int codebook_bits = 0;
  bool position_tables = false;  // entropy coded with the model's tables (truncation needs the model file)
  std::vector<uint16_t> tokens_per_tile;
  uint64_t header_bytes = 0, metadata_bytes = 0, payload_bytes = 0, file_bytes = 0;
  bool payload_cut = false;                // the file was cut short; a prefix is recoverable
  bool grey = false;                       // the source was greyscale (decodes grey)
  uint32_t flat_tiles = 0;                 // tiles stored as one colour (spec 5.4)
  std::vector<std::string> metadata_tags;  // e.g. "ICCP", "EXIF"
  std::vector<uint64_t> metadata_sizes;
};
FileInfo inspect(const uint8_t* data, size_t size);

// PSNR in dB over all RGB samples (8-bit peak); images must have the same size (else kUsage). Identical: inf.
using base::psnr;

// Loads a model file on "cpu", "cuda" or "auto" (anything else: kUsage). Every failure, LibTorch's included,
// is CodecError: kModel for a missing or broken file, and also when building the network runs out of memory
// (a corrupt file's hyper-parameters are then the likely cause).
std::unique_ptr<model::TileModel> load_model(const std::string& path, const std::string& device = "auto");
// The same from a model file's bytes in memory; name stands for the file in messages.
std::unique_ptr<model::TileModel> load_model(const std::vector<uint8_t>& bytes, const std::string& name,
                                             const std::string& device = "auto");
// Reads a model file's config, id and entropy tables without building the network (no LibTorch needed):
// enough for truncating files coded with the model's tables.
model::ModelInfo load_model_info(const std::string& path);

}  // namespace odp::codec
