// The codec: tiles through the model into .odp bytes and back, rate control, truncation and inspection.
#include "codec/odp.h"

#include <algorithm>
#include <cmath>

#include "base/file_io.h"
#include "base/psnr.h"
#include "base/resample.h"
#include "codec/model_failure.h"
#include "codec/rate_control.h"
#include "codec/tiling.h"
#include "format/odp_format.h"
#include "model/model_file.h"

namespace odp::codec {
namespace {

constexpr int kMaxTokens = 256;  // the format's longest prefix per tile
constexpr uint32_t kMaxTiles =
    1u << 16;  // format::ReadLimits::max_tiles: larger files could not be read back

CodecError bad_file(const format::FormatError& error) {
  return CodecError(std::string("not a valid .odp file: ") + error.what(), ErrorKind::kBadInput);
}

}  // namespace

format::FrequencyTables detail::tables_for(const model::ModelInfo& info) {
  format::FrequencyTables tables;
  if (info.token_frequencies.empty()) return tables;
  const size_t codebook = static_cast<size_t>(info.config.codebook_size());
  tables.codebook_size = static_cast<uint32_t>(codebook);
  for (size_t start = 0; start + codebook <= info.token_frequencies.size(); start += codebook)
    tables.per_position.emplace_back(info.token_frequencies.begin() + start,
                                     info.token_frequencies.begin() + start + codebook);
  return tables;
}

namespace {

void report(const ProgressFn& progress, int64_t done, int64_t total) {
  if (progress) progress(done, total);
}

// Reads the header without the model, to check the model id and pick the frequency tables.
format::Summary summarize_or_throw(const uint8_t* data, size_t size, const format::ReadLimits& limits = {}) {
  try {
    return format::summarize(data, size, limits);
  } catch (const format::FormatError& error) {
    throw bad_file(error);
  }
}

// The id as far as the file holds it: version 2 keeps the low 16 bits (spec 11.2), printed as 4 hex digits.
std::string file_model_id_text(const format::Header& header) {
  const std::string text = model::model_id_text(header.model_id);
  return header.model_id_bits >= 32 ? text : "...." + text.substr(text.size() - header.model_id_bits / 4);
}

void check_model_matches(const format::Header& header, const model::ModelInfo& info) {
  if (!header.matches_model(info.model_id))
    throw CodecError("the file was made by model " + file_model_id_text(header) + " but the loaded model" +
                         (info.path.empty() ? "" : " (" + info.path + ")") + " is " +
                         model::model_id_text(info.model_id) + "; use --model with the file's model",
                     ErrorKind::kModel);
}

// Decodes the payload of the bytes `summary` was read from, without parsing the header again.
format::TokenFile read_tokens(const format::Summary& summary, const uint8_t* data, size_t size,
                              const format::FrequencyTables& tables) {
  try {
    return format::read_payload(summary, data, size, tables);
  } catch (const format::FormatError& error) {
    throw bad_file(error);
  }
}

// The longest token-major prefix that fits max_bytes, or an error naming the smallest possible size.
std::vector<uint8_t> fit_to_bytes(const format::TokenFile& image, uint64_t max_bytes,
                                  const format::FrequencyTables& tables) {
  try {
    return format::truncate_to_bytes(image, max_bytes, tables);
  } catch (const format::FormatError&) {
    const size_t smallest = format::write(format::truncate_tokens(image, 1), tables).size();
    throw CodecError("a file of at most " + std::to_string(max_bytes) +
                         " bytes is impossible: the smallest file for "
                         "this image (1 token per tile) is " +
                         std::to_string(smallest) + " bytes",
                     ErrorKind::kUsage);
  }
}

std::vector<uint8_t> write_or_throw(const format::TokenFile& image, const format::FrequencyTables& tables) {
  try {
    return format::write(image, tables);
  } catch (const format::FormatError& error) {
    throw CodecError(std::string("cannot write the .odp file: ") + error.what(), ErrorKind::kUsage);
  }
}

double tile_psnr(const Image& image, const TileGrid& grid, int tile_index, const uint8_t* decoded) {
  size_t values = 0;
  const double squared = detail::tile_squared_error(image, grid, tile_index, decoded, &values);
  return base::psnr_from_squared_error(squared, values);
}

// Adaptive rate (Duggal et al.): per tile, the shortest prefix whose decoded tile reaches target_db (or, out
// of reach, comes within kAdaptiveSlackDb of its all-token PSNR). A binary search on each tile's prefix
// length, all unfinished tiles decoded together in batches.
std::vector<int> search_prefixes(const Image& image, const TileGrid& grid,
                                 const std::vector<uint16_t>& tokens, model::TileModel& model,
                                 double target_db, const ProgressFn& progress, int64_t done, int64_t total) {
  const int num_tokens = model.info().config.num_tokens, t = grid.tile,
            batch = std::max(1, model.preferred_batch());
  const size_t tile_values = 3ull * t * t;
  std::vector<int> low(grid.count(), 1), high(grid.count(), num_tokens);
  // Bytes: PSNR is measured on 8-bit pixels anyway, and the GPU sends back a quarter of fp32's data.
  std::vector<uint8_t> decoded(batch * tile_values);
  std::vector<uint16_t> batch_tokens(static_cast<size_t>(batch) * num_tokens);
  std::vector<int> keep(batch), members(batch);
  // A tile that cannot reach the target even with every token must not take them all for a fraction of a dB:
  // its goal becomes "within kAdaptiveSlackDb of what all its tokens give" (one extra batched decode).
  std::vector<double> goal(grid.count(), target_db);
  for (int start = 0; start < grid.count(); start += batch) {
    const int n = std::min(batch, grid.count() - start);
    std::copy_n(tokens.begin() + static_cast<size_t>(start) * num_tokens, static_cast<size_t>(n) * num_tokens,
                batch_tokens.begin());
    std::fill(keep.begin(), keep.begin() + n, num_tokens);
    model.decode_bytes(batch_tokens.data(), keep.data(), n, decoded.data());
    for (int j = 0; j < n; ++j)
      goal[start + j] = std::min(
          target_db, tile_psnr(image, grid, start + j, decoded.data() + j * tile_values) - kAdaptiveSlackDb);
    done += n;
    report(progress, std::min(done, total - 1), total);
  }
  for (;;) {
    std::vector<int> active;
    for (int i = 0; i < grid.count(); ++i)
      if (low[i] < high[i]) active.push_back(i);
    if (active.empty()) return low;
    for (size_t start = 0; start < active.size(); start += batch) {
      const int n = static_cast<int>(std::min<size_t>(batch, active.size() - start));
      for (int j = 0; j < n; ++j) {
        const int tile = active[start + j];
        members[j] = tile;
        keep[j] = (low[tile] + high[tile]) / 2;
        std::copy_n(tokens.begin() + static_cast<size_t>(tile) * num_tokens, num_tokens,
                    batch_tokens.begin() + static_cast<size_t>(j) * num_tokens);
      }
      model.decode_bytes(batch_tokens.data(), keep.data(), n, decoded.data());
      for (int j = 0; j < n; ++j) {
        const int tile = members[j];
        if (tile_psnr(image, grid, tile, decoded.data() + j * tile_values) >= goal[tile]) {
          high[tile] = keep[j];
        } else {
          low[tile] = keep[j] + 1;
        }
      }
      done += n;
      report(progress, std::min(done, total - 1), total);
    }
  }
}

// Every pixel has R == G == B: the file records grey and the decoder returns grey (issue 19).
bool is_grey(const Image& image) {
  for (size_t i = 0; i + 2 < image.rgb.size(); i += 3)
    if (image.rgb[i] != image.rgb[i + 1] || image.rgb[i] != image.rgb[i + 2]) return false;
  return true;
}

// The decoded channels' rounded mean in all three: what a grey file decodes to (spec 5.1).
void make_grey(Image& image) {
  for (size_t i = 0; i + 2 < image.rgb.size(); i += 3) {
    const int sum = image.rgb[i] + image.rgb[i + 1] + image.rgb[i + 2];
    image.rgb[i] = image.rgb[i + 1] = image.rgb[i + 2] = static_cast<uint8_t>((sum + 1) / 3);
  }
}

// A tile is flat when every pixel of it inside the image lies within this many levels of its rounded mean,
// per channel (spec 5.4): it is then stored as that colour, which the model cannot reproduce.
constexpr int kFlatTolerance = 2;

// The tiles of the grid that are one colour (spec 5.4), by increasing index.
std::vector<format::FlatTile> find_flat_tiles(const Image& image, const TileGrid& grid) {
  std::vector<format::FlatTile> flat;
  for (int index = 0; index < grid.count(); ++index) {
    const int x0 = grid.origin_x(index % grid.tiles_x), y0 = grid.origin_y(index / grid.tiles_x);
    const int x1 = std::min(grid.width, x0 + grid.tile), y1 = std::min(grid.height, y0 + grid.tile);
    int low[3] = {255, 255, 255}, high[3] = {0, 0, 0};
    uint64_t sum[3] = {0, 0, 0};
    bool within = true;
    for (int y = y0; y < y1 && within; ++y) {
      const uint8_t* row = &image.rgb[(static_cast<size_t>(y) * grid.width + x0) * 3];
      for (int x = 0; x < x1 - x0; ++x)
        for (int c = 0; c < 3; ++c) {
          low[c] = std::min<int>(low[c], row[3 * x + c]);
          high[c] = std::max<int>(high[c], row[3 * x + c]);
          sum[c] += row[3 * x + c];
        }
      for (int c = 0; c < 3; ++c) within = within && high[c] - low[c] <= 2 * kFlatTolerance;
    }
    if (!within) continue;
    const uint64_t pixels = static_cast<uint64_t>(x1 - x0) * (y1 - y0);
    format::FlatTile tile;
    tile.tile = static_cast<uint32_t>(index);
    for (int c = 0; c < 3; ++c) {
      tile.rgb[c] = static_cast<uint8_t>((sum[c] + pixels / 2) / pixels);
      within = within && high[c] - tile.rgb[c] <= kFlatTolerance && tile.rgb[c] - low[c] <= kFlatTolerance;
    }
    if (within) flat.push_back(tile);
  }
  return flat;
}

// Overwrites the decoded tiles first..first+count-1 that the file marks flat with their colour (planar
// 3 x T x T per tile; scale: 1 for bytes, 1/255 for the model's floats).
template <typename Pixel>
void paint_flat_tiles(const std::vector<format::FlatTile>& flat, int first, int count, int tile, Pixel* tiles,
                      float scale) {
  const size_t plane = static_cast<size_t>(tile) * tile;
  for (const format::FlatTile& entry : flat) {
    if (entry.tile < static_cast<uint32_t>(first) || entry.tile >= static_cast<uint32_t>(first + count))
      continue;
    Pixel* out = tiles + (entry.tile - first) * 3 * plane;
    for (int c = 0; c < 3; ++c) std::fill_n(out + c * plane, plane, static_cast<Pixel>(entry.rgb[c] * scale));
  }
}

// Fills each flat tile's visible region of the stitched image with its colour.
void repaint_flat_tiles(const std::vector<format::FlatTile>& flat, const TileGrid& grid, Image& image) {
  for (const format::FlatTile& entry : flat) {
    const int index = static_cast<int>(entry.tile);
    const int x0 = grid.origin_x(index % grid.tiles_x), y0 = grid.origin_y(index / grid.tiles_x);
    const int x1 = std::min(grid.width, x0 + grid.tile), y1 = std::min(grid.height, y0 + grid.tile);
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x)
        std::copy_n(entry.rgb, 3, &image.rgb[(static_cast<size_t>(y) * grid.width + x) * 3]);
  }
}

// A file that codes a downscaled copy (spec 5.2): the decoded coded image, upsampled to the image's size with
// the encoder's bicubic filter (in sRGB values; docs/performance.md has the measurement behind the choice).
void restore_coded_size(Image& image, const format::Header& header) {
  if (header.grid_width() == header.width && header.grid_height() == header.height) return;
  image = base::resize_bicubic(image, static_cast<int>(header.width), static_cast<int>(header.height));
}

int clamp_tokens(int tokens, int num_tokens) {
  if (tokens < 1 || tokens > kMaxTokens)
    throw CodecError("tokens per tile must be 1..256, not " + std::to_string(tokens), ErrorKind::kUsage);
  return std::min(tokens, num_tokens);
}

}  // namespace

int tokens_for_quality(double quality) {
  if (!(quality >= 0 && quality <= 100))
    throw CodecError("quality must be 0..100, not " + std::to_string(quality), ErrorKind::kUsage);
  return std::clamp(static_cast<int>(std::lround(std::pow(256.0, quality / 100.0))), 1, kMaxTokens);
}

int tokens_for_area(int tokens, int width, int height, int tile) {
  if (width <= 0 || height <= 0 || width > tile || height > tile) return tokens;
  const int64_t area = int64_t(width) * height, tile_area = int64_t(tile) * tile;
  return static_cast<int>(std::clamp<int64_t>((tokens * area + tile_area - 1) / tile_area, 1, tokens));
}

namespace {

// Sets the model's GPU encode precision for one scope and gives it back the one it had.
class GpuPrecisionScope {
 public:
  GpuPrecisionScope(model::TileModel& model, GpuPrecision precision)
      : model_(model), previous_(model.gpu_encode_precision()) {
    model_.set_gpu_encode_precision(precision);
  }
  ~GpuPrecisionScope() { model_.set_gpu_encode_precision(previous_); }
  GpuPrecisionScope(const GpuPrecisionScope&) = delete;
  GpuPrecisionScope& operator=(const GpuPrecisionScope&) = delete;

 private:
  model::TileModel& model_;
  const GpuPrecision previous_;
};

}  // namespace

EncodeResult encode(const Image& image, model::TileModel& model, const EncodeOptions& options) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw CodecError("cannot encode an empty image or one whose pixel buffer does not match its size");
  if (!(options.scale == kAutoScale || (options.scale > 0 && options.scale <= 1)))
    throw CodecError("the scale must be more than 0 and at most 1, not " + std::to_string(options.scale),
                     ErrorKind::kUsage);
  const GpuPrecisionScope precision(model, options.gpu_precision);
  if (options.rate == RateControl::kSize && options.scale == kAutoScale)
    return detail::encode_within_size(image, model, options);
  if (options.rate == RateControl::kTargetPsnr &&
      options.allocation == EncodeOptions::Allocation::kEqualSlope)
    return detail::encode_to_psnr(image, model, options);
  int coded_width = image.width, coded_height = image.height;
  if (options.scale != kAutoScale)
    base::scaled_size(image.width, image.height, 1.0 / options.scale, &coded_width, &coded_height);
  return detail::encode_at(image, coded_width, coded_height, model, options);
}

namespace detail {

namespace {

// The tokens per tile of the rates that fix them (all others: the model's count), checking the request.
int fixed_token_count(int coded_width, int coded_height, const model::TileModel& model,
                      const EncodeOptions& options) {
  const int num_tokens = model.info().config.num_tokens, t = model.info().config.tile_size;
  int fixed_tokens = num_tokens;
  if (options.rate == RateControl::kTokens) fixed_tokens = clamp_tokens(options.tokens, num_tokens);
  if (options.rate == RateControl::kQuality)
    fixed_tokens = std::min(tokens_for_quality(options.quality), num_tokens);
  if (options.tokens_by_area) fixed_tokens = tokens_for_area(fixed_tokens, coded_width, coded_height, t);
  check_rate(options);
  return fixed_tokens;
}

}  // namespace

void check_rate(const EncodeOptions& options) {
  if (options.rate == RateControl::kSize && options.max_bytes == 0)
    throw CodecError("the size budget must be at least 1 byte", ErrorKind::kUsage);
  if (options.rate == RateControl::kTargetPsnr && !(options.target_psnr > 0 && options.target_psnr < 200))
    throw CodecError("the target PSNR must be between 0 and 200 dB", ErrorKind::kUsage);
}

EncodeResult encode_at(const Image& image, int coded_width, int coded_height, model::TileModel& model,
                       const EncodeOptions& options) {
  // Check the request before the slow part.
  fixed_token_count(coded_width, coded_height, model, options);
  // The tokens code this image; the file records the original size and the decoder upsamples (spec 5.2).
  if (coded_width < 1 || coded_height < 1 || coded_width > image.width || coded_height > image.height)
    throw CodecError("the coded size " + std::to_string(coded_width) + "x" + std::to_string(coded_height) +
                         " must be 1x1 to the image's " + std::to_string(image.width) + "x" +
                         std::to_string(image.height),
                     ErrorKind::kUsage);
  if (coded_width == image.width && coded_height == image.height)
    return encode_coded(image, image, model, options);
  return encode_coded(image, base::resize_bicubic(image, coded_width, coded_height), model, options);
}

TileGrid coded_grid(int coded_width, int coded_height, int tile, int tile_overlap) {
  const int overlap = tile_overlap == kAutoOverlap ? choose_overlap(coded_width, coded_height, tile,
                                                                    std::min(kDefaultMinOverlap, tile / 2))
                                                   : tile_overlap;
  const TileGrid grid = TileGrid::make(coded_width, coded_height, tile, overlap);
  if (static_cast<uint32_t>(grid.count()) > kMaxTiles)
    throw CodecError("the image needs " + std::to_string(grid.count()) + " tiles, more than the format's " +
                     std::to_string(kMaxTiles));
  return grid;
}

std::vector<uint16_t> encode_tiles(const Image& coded, const TileGrid& grid, model::TileModel& model,
                                   const ProgressFn& progress, int64_t total) {
  const int num_tokens = model.info().config.num_tokens, t = grid.tile;
  const int batch = std::max(1, model.preferred_batch());
  const size_t tile_values = 3ull * t * t;
  std::vector<uint16_t> tokens(static_cast<size_t>(grid.count()) * num_tokens);
  // Bytes: the model sees exactly the floats byte / 255 either way, and the GPU receives a quarter of the
  // data.
  std::vector<uint8_t> tiles(batch * tile_values);
  try {
    for (int first = 0; first < grid.count(); first += batch) {
      const int n = std::min(batch, grid.count() - first);
      extract_tiles(coded.rgb.data(), grid, first, n, tiles.data());
      std::vector<uint16_t> encoded = model.encode_bytes(tiles.data(), n);
      std::copy(encoded.begin(), encoded.end(), tokens.begin() + static_cast<size_t>(first) * num_tokens);
      report(progress, first + n, total);
    }
  } catch (...) {
    detail::rethrow_model_failure("the model failed to run", model.device());
  }
  return tokens;
}

EncodeResult encode_coded(const Image& image, const Image& coded, model::TileModel& model,
                          const EncodeOptions& options) {
  const int fixed_tokens = fixed_token_count(coded.width, coded.height, model, options);
  const int num_tokens = model.info().config.num_tokens;
  const TileGrid grid =
      coded_grid(coded.width, coded.height, model.info().config.tile_size, options.tile_overlap);
  const bool adaptive = options.rate == RateControl::kTargetPsnr;
  const int64_t search_rounds = !adaptive ? 0
                                : options.allocation == EncodeOptions::Allocation::kEqualSlope
                                    ? static_cast<int64_t>(detail::equal_slope_lengths(num_tokens).size()) - 1
                                    : static_cast<int64_t>(std::ceil(std::log2(std::max(num_tokens, 2))));
  const int64_t total = grid.count() * (1 + search_rounds + (adaptive ? 1 : 0));  // + the all-token pass
  const std::vector<uint16_t> tokens = encode_tiles(coded, grid, model, options.progress, total);
  std::vector<int> keep(grid.count(), fixed_tokens);
  if (adaptive) {
    try {
      keep = options.allocation == EncodeOptions::Allocation::kEqualSlope
                 ? detail::allocate_equal_slope(coded, grid, tokens, model, options.target_psnr,
                                                options.progress, grid.count(), total)
                 : search_prefixes(coded, grid, tokens, model, options.target_psnr, options.progress,
                                   grid.count(), total);
    } catch (...) {
      detail::rethrow_model_failure("the model failed to run", model.device());
    }
  }
  EncodeResult result = write_coded(image, coded, grid, tokens, std::move(keep), model.info(), options);
  report(options.progress, total, total);
  return result;
}

EncodeResult write_coded(const Image& image, const Image& coded, const TileGrid& grid,
                         const std::vector<uint16_t>& tokens, std::vector<int> keep,
                         const model::ModelInfo& info, const EncodeOptions& options) {
  const int num_tokens = info.config.num_tokens, t = info.config.tile_size;
  const bool scaled = coded.width != image.width || coded.height != image.height;
  format::TokenFile file;
  format::Header& header = file.header;
  header.width = static_cast<uint32_t>(image.width);
  header.height = static_cast<uint32_t>(image.height);
  if (scaled) {
    header.coded_width = static_cast<uint32_t>(coded.width);
    header.coded_height = static_cast<uint32_t>(coded.height);
  }
  header.tile_size = static_cast<uint32_t>(t);
  header.tile_overlap = static_cast<uint32_t>(grid.overlap);
  header.model_id = info.model_id;
  header.codebook_bits = static_cast<uint8_t>(info.config.codebook_bits());
  const format::FrequencyTables tables = tables_for(info);
  header.entropy_model =
      tables.empty() ? format::EntropyModel::kUniform : format::EntropyModel::kPositionTables;
  // kAuto: pixels are coded as read, sRGB unless the input carried a profile (not converted), then
  // unspecified.
  const bool srgb = options.colour == EncodeOptions::Colour::kAuto
                        ? image.icc.empty()
                        : options.colour == EncodeOptions::Colour::kSrgb;
  header.colour = srgb ? format::ColourSpace::kSrgb : format::ColourSpace::kUnspecified;
  header.grey = is_grey(image);
  // Flat tiles decode from their stored colour; their tokens are not needed, so each keeps one.
  header.flat_tiles = find_flat_tiles(coded, grid);  // the grid covers the coded image
  for (const format::FlatTile& flat : header.flat_tiles) keep[flat.tile] = 1;
  if (options.keep_metadata) {
    if (!image.icc.empty()) file.metadata.push_back({"ICCP", image.icc});
    if (!image.exif.empty()) file.metadata.push_back({"EXIF", image.exif});
  }
  file.tile_tokens.resize(grid.count());
  for (int i = 0; i < grid.count(); ++i) {
    const auto start = tokens.begin() + static_cast<size_t>(i) * num_tokens;
    file.tile_tokens[i].assign(start, start + keep[i]);
  }
  EncodeResult result;
  result.bytes = options.rate == RateControl::kSize ? fit_to_bytes(file, options.max_bytes, tables)
                                                    : write_or_throw(file, tables);
  result.stats.tiles = grid.count();
  result.stats.coded_width = coded.width;
  result.stats.coded_height = coded.height;
  result.stats.tile_overlap = grid.overlap;
  result.stats.bytes = result.bytes.size();
  const format::Summary written = summarize_or_throw(result.bytes.data(), result.bytes.size());
  double kept = 0;
  for (uint16_t count : written.tokens_per_tile) kept += count;
  result.stats.mean_tokens = kept / std::max<size_t>(1, written.tokens_per_tile.size());
  return result;
}

}  // namespace detail

namespace {
format::ReadLimits read_limits_for(const DecodeLimits& limits) {
  format::ReadLimits read_limits;
  read_limits.max_pixels = limits.max_pixels;
  read_limits.max_tiles = limits.max_tiles;
  read_limits.max_metadata_bytes = limits.max_metadata_bytes;
  return read_limits;
}

format::Summary summarize_within(const uint8_t* data, size_t size, const DecodeLimits& limits) {
  if (size > limits.max_input_bytes)
    throw CodecError("the file is " + std::to_string(size) + " bytes, above the limit of " +
                     std::to_string(limits.max_input_bytes));
  const format::Summary summary = summarize_or_throw(data, size, read_limits_for(limits));
  // Tiles cost the model's time whatever their tokens; a payload far too small to have coded them is a
  // decompression bomb (or a cut so deep that almost nothing survives), refused before any decoding.
  const uint64_t tile_count = summary.tokens_per_tile.size();
  if (tile_count > 64 &&
      tile_count > 64 + summary.payload_bytes * uint64_t{limits.max_tiles_per_payload_byte})
    throw CodecError("not a valid .odp file: " + std::to_string(tile_count) + " tiles in a payload of " +
                     std::to_string(summary.payload_bytes) + " bytes, more than the limit of " +
                     std::to_string(limits.max_tiles_per_payload_byte) + " tiles per payload byte");
  return summary;
}
}  // namespace

std::vector<uint8_t> read_odp_file(const std::string& path, uint64_t max_bytes) {
  base::HeadCheck head;
  head.bytes = format::kSignatureBytes;
  head.check = [&](const uint8_t* data, size_t size) {
    try {
      format::check_signature(data, size);
    } catch (const format::FormatError& error) {
      throw CodecError((path == "-" ? "stdin" : path) + ": " + error.what(), ErrorKind::kBadInput);
    }
  };
  return base::read_file(path, max_bytes, head);
}

void check_decode_limits(const uint8_t* data, size_t size, const DecodeLimits& limits) {
  summarize_within(data, size, limits);
}

namespace detail {

format::TokenFile parse_for_model(const uint8_t* data, size_t size, const model::ModelInfo& info,
                                  const DecodeOptions& options, TileGrid* grid) {
  if (options.max_tokens < 0 || options.max_tokens > kMaxTokens)
    throw CodecError("tokens per tile must be 1..256, not " + std::to_string(options.max_tokens),
                     ErrorKind::kUsage);
  const format::Summary summary = summarize_within(data, size, options.limits);
  check_model_matches(summary.header, info);
  const int t = info.config.tile_size;
  if (summary.header.tile_size != static_cast<uint32_t>(t) ||
      summary.header.codebook_bits != info.config.codebook_bits())
    throw CodecError("the file's tile size or codebook does not match the model's", ErrorKind::kModel);
  format::TokenFile file = read_tokens(summary, data, size, tables_for(info));
  // The grid covers the coded image (spec 5.2); restore_coded_size brings it to the image's size at the end.
  *grid =
      TileGrid::make(static_cast<int>(file.header.grid_width()), static_cast<int>(file.header.grid_height()),
                     t, static_cast<int>(file.header.tile_overlap));
  if (static_cast<size_t>(grid->count()) != file.tile_tokens.size())
    throw CodecError("not a valid .odp file: it holds " + std::to_string(file.tile_tokens.size()) +
                     " tiles where its size needs " + std::to_string(grid->count()));
  return file;
}

Image assemble_grid(const format::TokenFile& file, const TileGrid& grid, int batch,
                    const DecodeOptions& options, const TileSource& decode_tiles) {
  Image image;
  image.width = grid.width;
  image.height = grid.height;
  image.rgb.resize(static_cast<size_t>(grid.width) * grid.height * 3);
  const int t = grid.tile;
  const size_t tile_values = 3ull * t * t;
  // Without overlap every pixel comes from one tile and is only rounded, so the model can round it on the
  // device and send back bytes; overlapping tiles are blended before rounding, so they come back as floats.
  const bool as_bytes = grid.overlap == 0;
  std::vector<float> tiles(as_bytes ? 0 : batch * tile_values);
  std::vector<uint8_t> tile_bytes(as_bytes ? batch * tile_values : 0);
  TileStitcher stitcher(grid, image.rgb.data());
  for (int first = 0; first < grid.count(); first += batch) {
    const int n = std::min(batch, grid.count() - first);
    if (as_bytes) {
      decode_tiles(first, n, tile_bytes.data(), nullptr);
      paint_flat_tiles(file.header.flat_tiles, first, n, t, tile_bytes.data(), 1.0f);
      stitcher.add(tile_bytes.data(), first, n);
    } else {
      decode_tiles(first, n, nullptr, tiles.data());
      paint_flat_tiles(file.header.flat_tiles, first, n, t, tiles.data(), 1.0f / 255);
      stitcher.add(tiles.data(), first, n);
    }
    report(options.progress, first + n, grid.count());
  }
  stitcher.finish();
  correct_seam_casts(image.rgb.data(), grid, options.seam_cast_radius);
  smooth_seams(image.rgb.data(), grid, options.seam_filter_radius);
  // The seam filters (overlap 0 only) move pixels near a seam, flat tiles' too: those get their colour back,
  // the neighbour keeps its share of the correction.
  if (grid.overlap == 0) repaint_flat_tiles(file.header.flat_tiles, grid, image);
  return image;
}

Image decode_grid(const uint8_t* data, size_t size, model::TileModel& model, const DecodeOptions& options,
                  format::TokenFile* file_out) {
  TileGrid grid;
  format::TokenFile file = parse_for_model(data, size, model.info(), options, &grid);
  const int num_tokens = model.info().config.num_tokens;
  const int batch = std::max(1, model.preferred_batch());
  std::vector<uint16_t> batch_tokens(static_cast<size_t>(batch) * num_tokens);
  std::vector<int> keep(batch);
  Image image =
      assemble_grid(file, grid, batch, options, [&](int first, int n, uint8_t* bytes, float* floats) {
        std::fill(batch_tokens.begin(), batch_tokens.end(), 0);
        for (int j = 0; j < n; ++j) {
          const std::vector<uint16_t>& prefix = file.tile_tokens[first + j];
          keep[j] = std::min<int>(static_cast<int>(prefix.size()), num_tokens);
          if (options.max_tokens > 0) keep[j] = std::min(keep[j], options.max_tokens);
          std::copy_n(prefix.begin(), keep[j], batch_tokens.begin() + static_cast<size_t>(j) * num_tokens);
        }
        try {
          if (bytes)
            model.decode_bytes(batch_tokens.data(), keep.data(), n, bytes);
          else
            model.decode(batch_tokens.data(), keep.data(), n, floats);
        } catch (...) {
          detail::rethrow_model_failure("the model failed to run", model.device());
        }
      });
  *file_out = std::move(file);
  return image;
}

void finish_decode(Image& image, const format::TokenFile& file) {
  restore_coded_size(image, file.header);
  if (file.header.grey) make_grey(image);
  for (const format::MetadataChunk& chunk : file.metadata) {
    // A profile describes the decoded pixels only when they were not converted to sRGB (spec 5.3).
    if (chunk.tag == "ICCP" && file.header.colour != format::ColourSpace::kSrgb) image.icc = chunk.bytes;
    if (chunk.tag == "EXIF") image.exif = chunk.bytes;
  }
  if (file.was_cut) image.notes.push_back("the file was cut short; decoded the tokens that survived");
}

}  // namespace detail

Image decode(const uint8_t* data, size_t size, model::TileModel& model, const DecodeOptions& options) {
  format::TokenFile file;
  Image image = detail::decode_grid(data, size, model, options, &file);
  detail::finish_decode(image, file);
  return image;
}

std::vector<uint8_t> truncate(const uint8_t* data, size_t size, const TruncateOptions& options,
                              const model::ModelInfo* model_info) {
  const format::Summary summary = summarize_or_throw(data, size);
  format::FrequencyTables tables;
  if (summary.header.entropy_model == format::EntropyModel::kPositionTables) {
    if (!model_info)
      throw CodecError("this file is entropy coded with model " +
                           model::model_id_text(summary.header.model_id) +
                           "'s tables, so truncating it needs that model file (--model or ODP_MODEL)",
                       ErrorKind::kModel);
    check_model_matches(summary.header, *model_info);
    tables = detail::tables_for(*model_info);
  }
  const format::TokenFile file = read_tokens(summary, data, size, tables);
  // A file cut so deep that a tile lost every token cannot be written again (each tile keeps 1..256).
  const auto empty = std::find_if(file.tile_tokens.begin(), file.tile_tokens.end(),
                                  [](const std::vector<uint16_t>& tile) { return tile.empty(); });
  if (empty != file.tile_tokens.end()) {
    const bool none = std::all_of(file.tile_tokens.begin(), file.tile_tokens.end(),
                                  [](const std::vector<uint16_t>& tile) { return tile.empty(); });
    throw CodecError(
        "the file was cut so short (" + std::to_string(size) + " bytes) that " +
            (none ? std::string("no token survives; there is nothing to truncate")
                  : "tile " + std::to_string(empty - file.tile_tokens.begin()) +
                        " has no token left, so it cannot be truncated further (it can still be decoded)"),
        ErrorKind::kBadInput);
  }
  if (options.tokens > 0)
    return write_or_throw(format::truncate_tokens(file, clamp_tokens(options.tokens, kMaxTokens)), tables);
  if (options.quality >= 0)
    return write_or_throw(format::truncate_tokens(file, tokens_for_quality(options.quality)), tables);
  if (options.max_bytes > 0) return fit_to_bytes(file, options.max_bytes, tables);
  throw CodecError("say how far to truncate: --tokens N, --quality Q or --size BYTES", ErrorKind::kUsage);
}

namespace detail {

void rethrow_model_failure(const std::string& failed, model::Device device) {
  try {
    throw;
  } catch (const CodecError&) {
    throw;
  } catch (const model::ModelError& error) {
    throw CodecError(error.what(), ErrorKind::kModel);
  } catch (const std::bad_alloc&) {
    throw CodecError(failed + ": out of memory", ErrorKind::kOutOfMemory);
  } catch (const std::exception& error) {
    const std::string what = error.what();
    throw CodecError(failed + ": " + what.substr(0, what.find('\n')),
                     device == model::Device::kCuda ? ErrorKind::kDevice : ErrorKind::kModel);
  } catch (...) {
    throw CodecError(failed, ErrorKind::kModel);
  }
}

}  // namespace detail

}  // namespace odp::codec
