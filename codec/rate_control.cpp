// The searches over the coded image's scale and the tile overlap (kSize, kTargetPsnr), measured by decoding
// each candidate, and the equal-slope allocation of tokens across tiles.
#include "codec/rate_control.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "base/psnr.h"
#include "base/resample.h"
#include "codec/model_failure.h"
#include "codec/tiling.h"
#include "format/odp_format.h"

namespace odp::codec::detail {

namespace {

// Adds the wall time of its scope to *into (when into is set).
class PhaseTimer {
 public:
  explicit PhaseTimer(double* into) : into_(into), start_(std::chrono::steady_clock::now()) {}
  ~PhaseTimer() {
    if (into_) *into_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  double* into_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::vector<std::vector<ScaleCandidate>> scale_candidates(int image_width, int image_height, int tile,
                                                          int tile_overlap) {
  std::vector<std::vector<ScaleCandidate>> by_scale;  // per divisor, its overlap rules
  for (double divisor : kSizeDivisors) {
    int width = 0, height = 0;
    base::scaled_size(image_width, image_height, divisor, &width, &height);
    if (divisor != 1 && std::min(width, height) < kMinCodedSide) break;
    if (!by_scale.empty() && by_scale.back().front().width == width &&
        by_scale.back().front().height == height)
      continue;
    std::vector<ScaleCandidate> rules;
    if (tile_overlap != kAutoOverlap) {
      rules.push_back({width, height, tile_overlap});
    } else {
      // Wider overlaps that cost tiles lost at every budget measured (docs/performance.md).
      const int free = choose_overlap(width, height, tile, std::min(kDefaultMinOverlap, tile / 2));
      rules.push_back({width, height, 0});
      if (free != 0) rules.push_back({width, height, free});
      // Blended seams without extra tiles: the same grid over a copy shrunk per axis so that neighbours
      // share kBlendOverlap pixels (768x512: 704x480 in 3x2 tiles).
      const int blend = std::min(kBlendOverlap, tile / 2);
      const auto shrunk = [&](int length) {
        const int tiles = static_cast<int>(format::tiles_along(length, tile, 0));
        return tiles > 1 ? std::min(length, tiles * tile - (tiles - 1) * blend) : length;
      };
      if (free < blend && (shrunk(width) < width || shrunk(height) < height))
        rules.push_back({shrunk(width), shrunk(height), blend});
    }
    // The same tiles filled whole: the copy stretched per axis up to its grid's edges (at most the image's
    // size), so that no tile codes padding (768x512 at 1/3: 256x256 instead of 256x171). It gives up the
    // aspect ratio, which the decoder's resampling to the image size restores;
    // docs/notes/2026-12-03-kodak-squash.md.
    const auto filled = [&](int length, int image_length) {
      return std::min(image_length, static_cast<int>(format::tiles_along(length, tile, 0)) * tile);
    };
    const ScaleCandidate fill{filled(width, image_width), filled(height, image_height), 0};
    const auto tried_before = [&](const ScaleCandidate& c) {
      const auto holds = [&](const std::vector<ScaleCandidate>& list) {
        return std::find(list.begin(), list.end(), c) != list.end();
      };
      return holds(rules) || std::any_of(by_scale.begin(), by_scale.end(), holds);
    };
    if (tile_overlap == kAutoOverlap && !tried_before(fill)) rules.push_back(fill);
    by_scale.push_back(rules);
  }
  return by_scale;
}

namespace {

// A candidate's file and its PSNR against the image, decoded and upsampled as a decoder does.
struct Measured {
  EncodeResult result;
  double psnr = 0;
};

double measure(const Image& image, const EncodeResult& result, model::TileModel& model,
               SizeSearchTimes& spent) {
  format::TokenFile file;
  Image decoded;
  {
    PhaseTimer timer(&spent.decode);
    decoded = decode_grid(result.bytes.data(), result.bytes.size(), model, DecodeOptions{}, &file);
  }
  {
    PhaseTimer timer(&spent.upsample);
    finish_decode(decoded, file);
  }
  PhaseTimer timer(&spent.psnr);
  return base::psnr(image, decoded);
}

// What one rate does with the candidates search_candidates hands it, in scale_candidates' order.
class CandidateRate {
 public:
  virtual ~CandidateRate() = default;
  // Codes `candidate` from `coded` (the image resampled to the candidate's size, or the image itself) under
  // `one` (the options with the candidate's overlap and a share of the progress); returns its file when it
  // is one the search may keep. Sets *encoded when the model encoded the copy.
  virtual std::optional<Measured> code(const Image& image, const Image& coded,
                                       const ScaleCandidate& candidate, const EncodeOptions& one,
                                       SizeSearchTimes& spent, bool* encoded) = 0;
  // Whether `a` is a better file than `b`.
  virtual bool better(const Measured& a, const Measured& b) const = 0;
  // After each scale: true ends the search. `improved`: this scale gave the best file so far.
  virtual bool stop_after_scale(const std::optional<Measured>& best, bool improved) = 0;
  // The result when no candidate gave a file the search keeps (or throws).
  virtual EncodeResult none_kept() = 0;
  // The search's best file, once every candidate is done: the rate may still improve it.
  virtual void finish(Measured& /*best*/, SizeSearchTimes& /*spent*/) {}
};

// The one size a forced scale codes (the image's own without one), at the overlap the grid over it takes.
ScaleCandidate forced_candidate(const Image& image, int tile, const EncodeOptions& options) {
  int width = image.width, height = image.height;
  if (options.scale != kAutoScale)
    base::scaled_size(image.width, image.height, 1.0 / options.scale, &width, &height);
  return {width, height, coded_grid(width, height, tile, options.tile_overlap).overlap};
}

// The one loop of the searches over resolution: every candidate of scale_candidates, each size resampled
// once, the best of what `rate` returns kept, until `rate` stops it.
EncodeResult search_candidates(const Image& image, model::TileModel& model, const EncodeOptions& options,
                               CandidateRate& rate, SizeSearchTimes* times) {
  SizeSearchTimes unused;
  SizeSearchTimes& spent = times ? *times : unused;
  const std::vector<std::vector<ScaleCandidate>> by_scale =
      options.scale == kAutoScale
          ? scale_candidates(image.width, image.height, model.info().config.tile_size, options.tile_overlap)
          : std::vector<std::vector<ScaleCandidate>>{
                {forced_candidate(image, model.info().config.tile_size, options)}};
  int total = 0;
  for (const auto& rules : by_scale) total += static_cast<int>(rules.size());
  std::optional<Measured> best;
  int tried = 0, visited = 0;
  constexpr int64_t kUnits = 1000;  // progress units per candidate
  for (const auto& rules : by_scale) {
    bool improved = false;
    // Rules of one size share its coded copy (resampled once); the image's own size codes the image.
    Image coded;
    for (const ScaleCandidate& candidate : rules) {
      const bool own_size = candidate.width == image.width && candidate.height == image.height;
      if (!own_size && (coded.width != candidate.width || coded.height != candidate.height)) {
        PhaseTimer timer(&spent.resample);
        coded = base::resize_bicubic(image, candidate.width, candidate.height);
      }
      EncodeOptions one = options;
      one.tile_overlap = candidate.overlap;
      const int64_t base_units = visited * kUnits;
      one.progress = [&](int64_t done, int64_t of) {
        if (options.progress && of > 0) options.progress(base_units + done * kUnits / of, total * kUnits);
      };
      ++visited;
      bool encoded = false;
      std::optional<Measured> measured =
          rate.code(image, own_size ? image : coded, candidate, one, spent, &encoded);
      if (encoded) {
        ++tried;
        ++spent.candidates;
        spent.encoded.push_back(candidate);
      }
      if (measured && (!best || rate.better(*measured, *best))) {
        best = std::move(measured);
        improved = true;
      }
    }
    if (rate.stop_after_scale(best, improved)) break;
  }
  if (best) rate.finish(*best, spent);
  EncodeResult result = best ? std::move(best->result) : rate.none_kept();
  result.stats.candidates = tried;
  if (options.progress) options.progress(total * kUnits, total * kUnits);
  return result;
}

// kSize: each candidate at every token, fitted to the budget; the best PSNR wins.
class SizeRate : public CandidateRate {
 public:
  explicit SizeRate(model::TileModel& model) : model_(model) {}
  std::optional<Measured> code(const Image& image, const Image& coded, const ScaleCandidate&,
                               const EncodeOptions& one, SizeSearchTimes& spent, bool* encoded) override {
    *encoded = true;
    Measured measured;
    try {
      PhaseTimer timer(&spent.encode);
      measured.result = encode_coded(image, coded, model_, one);
    } catch (const CodecError& error) {
      if (error.kind() != ErrorKind::kUsage) throw;
      smallest_failure_ = error;  // does not fit at this scale and overlap
      return std::nullopt;
    }
    measured.psnr = measure(image, measured.result, model_, spent);
    scale_psnr_ = std::max(scale_psnr_, measured.psnr);
    return measured;
  }
  bool better(const Measured& a, const Measured& b) const override { return a.psnr > b.psnr; }
  bool stop_after_scale(const std::optional<Measured>& best, bool) override {
    worse_in_a_row_ = best && scale_psnr_ < best->psnr ? worse_in_a_row_ + 1 : 0;
    scale_psnr_ = -std::numeric_limits<double>::infinity();
    // Every token of every tile fits: a smaller copy can only lose detail.
    return worse_in_a_row_ >= 2 ||
           (best && best->result.stats.mean_tokens >= model_.info().config.num_tokens);
  }
  EncodeResult none_kept() override { throw *smallest_failure_; }

 private:
  model::TileModel& model_;
  double scale_psnr_ = -std::numeric_limits<double>::infinity();
  int worse_in_a_row_ = 0;
  std::optional<CodecError> smallest_failure_;  // from the smallest candidate tried: the smallest file
};

// Squared error per sample that a PSNR of `db` allows (8-bit peak).
double mse_for_psnr(double db) { return 255.0 * 255.0 / std::pow(10.0, db / 10.0); }

// A tile's squared error keeping `length` tokens, interpolated linearly between the measured lengths (above
// the truth where the curve is convex).
double interpolated_error(const SlopeErrors& errors, int tile, int length) {
  const std::vector<int>& lengths = errors.lengths;
  const size_t n_lengths = lengths.size();
  size_t k = 0;
  while (k + 1 < n_lengths && lengths[k + 1] < length) ++k;
  if (lengths[k] >= length || k + 1 == n_lengths) return errors.error[tile * n_lengths + k];
  const double f = double(length - lengths[k]) / double(lengths[k + 1] - lengths[k]);
  return (1 - f) * errors.error[tile * n_lengths + k] + f * errors.error[tile * n_lengths + k + 1];
}

// The total squared error target_db allows over the coded image; out of reach, kAdaptiveSlackDb above the
// least error any lengths give (rather than every token for the last fraction of a dB).
double allowed_error(const SlopeErrors& errors, double target_db) {
  return std::max(errors.values * 255.0 * 255.0 / std::pow(10.0, target_db / 10.0),
                  errors.least() * std::pow(10.0, kAdaptiveSlackDb / 10.0));
}

// The fewest tokens one count for all tiles needs for a total error within `allowed` (num_tokens if none).
int uniform_count(const SlopeErrors& errors, double allowed, int num_tokens) {
  int uniform = 1;
  for (; uniform < num_tokens; ++uniform) {
    double total_error = 0;
    for (int i = 0; i < errors.tiles; ++i) total_error += interpolated_error(errors, i, uniform);
    if (total_error <= allowed) break;
  }
  return uniform;
}

// One coded copy's tiles as the model decodes them, per (tile, prefix length), each decoded once: with them
// assemble_grid gives the decoder's image of any token counts without the model (refine's many files).
class DecodedTiles {
 public:
  DecodedTiles(model::TileModel& model, const Image& coded, const TileGrid& grid,
               const std::vector<uint16_t>& tokens)
      : model_(model), coded_(coded), grid_(grid), tokens_(tokens), as_bytes_(grid.overlap == 0) {}

  // Decodes those of the (tile, length) pairs not held yet, batched.
  void prepare(const std::vector<std::pair<int, int>>& wanted) {
    std::vector<std::pair<int, int>> missing;
    for (const auto& key : wanted)
      if (!held_.count(key) && std::find(missing.begin(), missing.end(), key) == missing.end())
        missing.push_back(key);
    const int num_tokens = model_.info().config.num_tokens, batch = std::max(1, model_.preferred_batch());
    const size_t tile_values = 3ull * grid_.tile * grid_.tile;
    std::vector<uint16_t> batch_tokens(static_cast<size_t>(batch) * num_tokens);
    std::vector<int> keep(batch);
    std::vector<uint8_t> rounded;
    for (size_t first = 0; first < missing.size(); first += batch) {
      const int n = static_cast<int>(std::min<size_t>(batch, missing.size() - first));
      for (int j = 0; j < n; ++j) {
        keep[j] = missing[first + j].second;
        std::copy_n(tokens_.begin() + static_cast<size_t>(missing[first + j].first) * num_tokens, num_tokens,
                    batch_tokens.begin() + static_cast<size_t>(j) * num_tokens);
      }
      Tile decoded;
      try {
        if (as_bytes_) {
          decoded.bytes.resize(n * tile_values);
          model_.decode_bytes(batch_tokens.data(), keep.data(), n, decoded.bytes.data());
        } else {
          decoded.floats.resize(n * tile_values);
          model_.decode(batch_tokens.data(), keep.data(), n, decoded.floats.data());
        }
      } catch (...) {
        rethrow_model_failure("the model failed to run", model_.device());
      }
      for (int j = 0; j < n; ++j) {
        Tile& tile = held_[missing[first + j]];
        if (as_bytes_) {
          tile.bytes.assign(decoded.bytes.begin() + j * tile_values,
                            decoded.bytes.begin() + (j + 1) * tile_values);
        } else {
          tile.floats.assign(decoded.floats.begin() + j * tile_values,
                             decoded.floats.begin() + (j + 1) * tile_values);
          rounded.resize(tile_values);
          std::transform(tile.floats.begin(), tile.floats.end(), rounded.begin(), model::byte_from_unit);
        }
        size_t values = 0;
        tile.error = tile_squared_error(coded_, grid_, missing[first + j].first,
                                        as_bytes_ ? tile.bytes.data() : rounded.data(), &values);
      }
      decodes_ += n;
    }
  }

  // The decoder's image of `file` (made from these tokens), its tiles from the held ones: parse_for_model's
  // file and grid, as measure() would decode them before finish_decode.
  Image assemble(const format::TokenFile& file, const TileGrid& grid) {
    std::vector<std::pair<int, int>> wanted(file.tile_tokens.size());
    for (size_t i = 0; i < wanted.size(); ++i)
      wanted[i] = {static_cast<int>(i), static_cast<int>(file.tile_tokens[i].size())};
    prepare(wanted);
    const size_t tile_values = 3ull * grid.tile * grid.tile;
    return assemble_grid(file, grid, std::max(1, model_.preferred_batch()), DecodeOptions{},
                         [&](int first, int n, uint8_t* bytes, float* floats) {
                           for (int j = 0; j < n; ++j) {
                             const Tile& tile = held_.at(wanted[first + j]);
                             if (bytes)
                               std::copy(tile.bytes.begin(), tile.bytes.end(), bytes + j * tile_values);
                             else
                               std::copy(tile.floats.begin(), tile.floats.end(), floats + j * tile_values);
                           }
                         });
  }

  // The tile's own squared error over its pixels inside the coded image keeping `length` tokens (held by
  // prepare; tile_squared_error, floats rounded to bytes), before stitching and the seam filters.
  double error(int tile, int length) const { return held_.at({tile, length}).error; }
  int decodes() const { return decodes_; }  // tiles the model decoded

 private:
  struct Tile {
    std::vector<uint8_t> bytes;  // without overlap
    std::vector<float> floats;   // with overlap
    double error = 0;
  };
  model::TileModel& model_;
  const Image& coded_;
  const TileGrid grid_;
  const std::vector<uint16_t>& tokens_;
  const bool as_bytes_;
  std::map<std::pair<int, int>, Tile> held_;
  int decodes_ = 0;
};

// kTargetPsnr: each copy's tokens allocated at equal slope for the coded target its resolution leaves,
// corrected by the measured PSNR; the smallest file reaching the target wins.
class PsnrRate : public CandidateRate {
 public:
  PsnrRate(const Image& image, model::TileModel& model, const EncodeOptions& options, bool refine)
      : model_(model),
        refine_(refine),
        target_(options.target_psnr),
        fallback_candidate_(forced_candidate(image, model.info().config.tile_size, options)),
        fallback_tiles_(coded_grid(fallback_candidate_.width, fallback_candidate_.height,
                                   model.info().config.tile_size, fallback_candidate_.overlap)
                            .count()),
        image_(image) {}

  std::optional<Measured> code(const Image& image, const Image& coded, const ScaleCandidate& candidate,
                               const EncodeOptions& one, SizeSearchTimes& spent, bool* encoded) override {
    const bool own_size = coded.width == image.width && coded.height == image.height;
    const bool fallback = candidate == fallback_candidate_;
    const model::ModelInfo& info = model_.info();
    const TileGrid grid = coded_grid(coded.width, coded.height, info.config.tile_size, candidate.overlap);
    // A copy as costly as the fallback would double the search's largest encode.
    if (!fallback && grid.count() >= fallback_tiles_) return std::nullopt;
    // The error the resolution alone costs: the copy upsampled as the decoder will, without coding.
    if (!own_size && (resolution_width_ != coded.width || resolution_height_ != coded.height)) {
      PhaseTimer timer(&spent.upsample);
      resolution_mse_ =
          mse_for_psnr(base::psnr(image, base::resize_bicubic(coded, image.width, image.height)));
      resolution_width_ = coded.width;
      resolution_height_ = coded.height;
    }
    const double resolution_mse = own_size ? 0 : resolution_mse_;
    const double allowed_mse = mse_for_psnr(target_) - resolution_mse;
    if (allowed_mse <= 0 && !fallback) return std::nullopt;  // misses the target before any token is spent
    *encoded = true;
    // The fallback measures every length the allocation on one size measures (its first file is that one).
    std::vector<int> lengths =
        fallback ? equal_slope_lengths(info.config.num_tokens) : octave_lengths(info.config.num_tokens);
    const int64_t total = grid.count() * (1 + static_cast<int64_t>(lengths.size()) + kPsnrAllocations);
    std::vector<uint16_t> tokens;
    SlopeErrors errors;
    {
      PhaseTimer timer(&spent.encode);
      tokens = encode_tiles(coded, grid, model_, one.progress, total);
      try {
        errors = measure_slope_errors(coded, grid, tokens, model_, std::move(lengths), one.progress,
                                      grid.count(), total);
      } catch (...) {
        rethrow_model_failure("the model failed to run", model_.device());
      }
    }
    // With every token (each tile's least error) the coding error adds to the resolution's; upsampling
    // smooths the coded error, so the sum is pessimistic for a scaled copy, hence its margin.
    const double least_db = base::psnr_from_squared_error(
        (resolution_mse + errors.least() / std::max<size_t>(1, errors.values)) * errors.values,
        errors.values);
    const bool reachable = least_db >= target_ - (own_size ? 0 : kReachMarginDb);
    scale_reachable_ = scale_reachable_ || reachable;
    if (!reachable && !fallback) return std::nullopt;
    // The fallback codes at the target itself: its first file is the allocation on that one size alone
    // (detail::encode_at's), which the measured PSNR then corrects.
    double coded_db = fallback ? target_ : 10 * std::log10(255.0 * 255.0 / allowed_mse);
    std::optional<Measured> kept;
    std::vector<int> previous;
    for (int round = 0; round < kPsnrAllocations; ++round) {
      std::vector<int> keep =
          choose_equal_slope(errors, coded_db, info.config.num_tokens, info.config.codebook_bits());
      if (keep == previous) break;  // the correction no longer moves a token
      previous = keep;
      Measured measured;
      {
        PhaseTimer timer(&spent.encode);
        measured.result = write_coded(image, coded, grid, tokens, std::move(keep), info, one);
      }
      if (round == 0 && fallback) fallback_ = measured.result;
      if (!reachable) break;  // kept only as the fallback
      measured.psnr = measure(image, measured.result, model_, spent);
      if (one.progress)
        one.progress(grid.count() * (1 + static_cast<int64_t>(errors.lengths.size()) + round), total);
      const double miss = target_ - measured.psnr;
      if (miss <= 0 && (!kept || better(measured, *kept))) kept = std::move(measured);
      if (miss <= 0 && -miss < kCloseEnoughDb) break;
      // A file short of the target asks for a little more than it missed by, so that the next one reaches.
      coded_db += miss > 0 ? miss + kCloseEnoughDb / 2 : miss;
    }
    if (!reachable) return kept;
    std::optional<Measured> uniform =
        one_count(image, coded, grid, tokens, errors, coded_db, kept, one, spent);
    if (uniform && (!kept || better(*uniform, *kept))) kept = std::move(uniform);
    // The copy of the best file so far is held for finish() to refine: only the search's winner is refined
    // (the refinement saves a few per cent, and costs about as much as measuring a copy's table).
    if (refine_ && kept && (!winner_ || better(*kept, winner_->kept))) {
      EncodeOptions quiet = one;
      quiet.progress = nullptr;  // one's progress refers to the search's loop
      winner_.reset(new Winner{coded, grid, std::move(tokens), quiet, *kept});
    }
    return kept;
  }

  // Refines the search's best file where it is the held copy's (PsnrRate::refine).
  void finish(Measured& best, SizeSearchTimes& spent) override {
    if (!winner_ || best.result.bytes != winner_->kept.result.bytes) return;
    std::optional<Measured> refined =
        refine(image_, winner_->coded, winner_->grid, winner_->tokens, best, winner_->options, spent);
    if (refined && better(*refined, best)) best = std::move(*refined);
  }

  // The exact refinement of a file reaching the target: the allocation's files land up to kCloseEnoughDb
  // above it (its table is measured before the seam filters, at a few lengths), and its tiles' counts follow
  // that table's slopes. From `start`'s counts, one move at a time: 1..kRefineCut tokens cut from one tile,
  // alone or with one token added to another, that saves bits (the entropy coder's cost of the tokens, with
  // the counts field's change) and keeps the decoded image at the target. Moves are tried in the order of
  // their tiles' own squared error per bit saved (before the seam filters, from the held tiles), at most
  // kRefineTries exactly (assemble_grid: the decoder's image) per move; the first that reaches the target
  // is made. The smallest file met (ties: the higher PSNR) is measured by a full decode and returned when it
  // reaches the target; nothing when no move was made or it does not.
  std::optional<Measured> refine(const Image& image, const Image& coded, const TileGrid& grid,
                                 const std::vector<uint16_t>& tokens, const Measured& start,
                                 const EncodeOptions& one, SizeSearchTimes& spent) {
    const model::ModelInfo& info = model_.info();
    const int num_tokens = info.config.num_tokens;
    const format::FrequencyTables tables = tables_for(info);
    const auto token_bits = [&](int tile, int position) {
      if (tables.empty()) return double(info.config.codebook_bits());
      const auto& table = tables.per_position[std::min<size_t>(position, tables.per_position.size() - 1)];
      return -std::log2(table[tokens[static_cast<size_t>(tile) * num_tokens + position]] / 65536.0);
    };
    // Bits of tile's tokens from..to-1.
    const auto span_bits = [&](int tile, int from, int to) {
      double bits = 0;
      for (int position = from; position < to; ++position) bits += token_bits(tile, position);
      return bits;
    };
    const auto counts_bits = [](const std::vector<int>& c) {
      return 8.0 * double(format::token_counts_bytes(std::vector<uint16_t>(c.begin(), c.end())));
    };
    DecodedTiles decoded(model_, coded, grid, tokens);
    const auto evaluate = [&](const std::vector<int>& counts) {
      Measured measured;
      {
        PhaseTimer timer(&spent.encode);
        measured.result = write_coded(image, coded, grid, tokens, counts, info, one);
      }
      PhaseTimer timer(&spent.decode);
      TileGrid file_grid;
      format::TokenFile file = parse_for_model(measured.result.bytes.data(), measured.result.bytes.size(),
                                               info, DecodeOptions{}, &file_grid);
      Image image_decoded = decoded.assemble(file, file_grid);
      finish_decode(image_decoded, file);
      measured.psnr = base::psnr(image, image_decoded);
      return measured;
    };
    const format::Summary summary = format::summarize(start.result.bytes.data(), start.result.bytes.size());
    std::vector<int> counts(summary.tokens_per_tile.begin(), summary.tokens_per_tile.end());
    const int tiles = static_cast<int>(counts.size());
    std::vector<bool> flat(tiles, false);
    for (const format::FlatTile& tile : summary.header.flat_tiles) flat[tile.tile] = true;
    Measured current = evaluate(counts);
    if (current.psnr < target_) return std::nullopt;  // the held tiles disagree with the measured file
    Measured best = current;
    struct Move {
      int cut_tile = 0, cut = 0, add_tile = -1;  // add_tile: -1 for a cut alone
      double bits = 0, error = 0;                // bits saved; the tiles' own squared error added
    };
    for (int step = 0; step < kRefineStepsPerTile * tiles; ++step) {
      std::vector<std::pair<int, int>> wanted;
      for (int i = 0; i < tiles; ++i) {
        if (flat[i]) continue;
        for (int cut = 1; cut <= kRefineCut && counts[i] - cut >= 1; ++cut)
          wanted.emplace_back(i, counts[i] - cut);
        if (counts[i] < num_tokens) wanted.emplace_back(i, counts[i] + 1);
        wanted.emplace_back(i, counts[i]);
      }
      if (wanted.empty()) break;
      decoded.prepare(wanted);
      const double bits_now = counts_bits(counts);
      std::vector<Move> moves;
      for (int a = 0; a < tiles; ++a) {
        if (flat[a]) continue;
        for (int cut = 1; cut <= kRefineCut && counts[a] - cut >= 1; ++cut) {
          const double cut_bits = span_bits(a, counts[a] - cut, counts[a]);
          const double cut_error = decoded.error(a, counts[a] - cut) - decoded.error(a, counts[a]);
          for (int b = -1; b < tiles; ++b) {
            if (b == a || (b >= 0 && (flat[b] || counts[b] >= num_tokens))) continue;
            std::vector<int> next = counts;
            next[a] -= cut;
            Move move{a, cut, b, bits_now - counts_bits(next) + cut_bits, cut_error};
            if (b >= 0) {
              ++next[b];
              move.bits = bits_now - counts_bits(next) + cut_bits - token_bits(b, counts[b]);
              move.error += decoded.error(b, counts[b] + 1) - decoded.error(b, counts[b]);
            }
            if (move.bits > 0) moves.push_back(move);
          }
        }
      }
      // The squared error the target leaves, in the coded copy's samples (its tiles' errors are the coded
      // copy's): a move whose tiles add well over it is not measured.
      const double slack =
          (mse_for_psnr(target_) - mse_for_psnr(current.psnr)) * 3.0 * coded.width * coded.height;
      moves.erase(std::remove_if(moves.begin(), moves.end(),
                                 [&](const Move& move) { return move.error > kRefineSlackFactor * slack; }),
                  moves.end());
      std::sort(moves.begin(), moves.end(),
                [](const Move& x, const Move& y) { return x.error * y.bits < y.error * x.bits; });
      std::optional<Measured> chosen;
      std::vector<int> chosen_counts;
      for (size_t k = 0; k < moves.size() && k < static_cast<size_t>(kRefineTries) && !chosen; ++k) {
        std::vector<int> next = counts;
        next[moves[k].cut_tile] -= moves[k].cut;
        if (moves[k].add_tile >= 0) ++next[moves[k].add_tile];
        Measured measured = evaluate(next);
        if (measured.psnr < target_) continue;
        chosen = std::move(measured);
        chosen_counts = std::move(next);
      }
      if (!chosen) break;
      counts = std::move(chosen_counts);
      current = std::move(*chosen);
      if (better(current, best)) best = current;
    }
    spent.refine_decodes += decoded.decodes();
    if (best.result.bytes == start.result.bytes) return std::nullopt;
    // The held tiles were decoded in other batches than the decoder's: the full decode has the last word.
    const double cached_psnr = best.psnr;
    best.psnr = measure(image, best.result, model_, spent);
    if (best.psnr != cached_psnr) ++spent.refine_mismatches;
    if (best.psnr < target_) return std::nullopt;
    return best;
  }

  // One count for all tiles, the file a fixed count gives: the allocation does not always beat it (its
  // correction can oscillate around the target, and unequal counts cost bytes of their own). Among such files
  // smaller than `kept`, the one of the fewest tokens the measured PSNR says reaches the target, starting
  // from the table's estimate at `coded_db` (the target as the allocation's correction left it) and corrected
  // as the allocation is, in at most kOneCountFiles decodes.
  std::optional<Measured> one_count(const Image& image, const Image& coded, const TileGrid& grid,
                                    const std::vector<uint16_t>& tokens, const SlopeErrors& errors,
                                    double coded_db, const std::optional<Measured>& kept,
                                    const EncodeOptions& one, SizeSearchTimes& spent) {
    const model::ModelInfo& info = model_.info();
    const int num_tokens = info.config.num_tokens;
    const auto file_of = [&](int count) {
      PhaseTimer timer(&spent.encode);
      return write_coded(image, coded, grid, tokens, std::vector<int>(grid.count(), count), info, one);
    };
    // The most tokens whose file is smaller than kept's (file size grows with the count).
    int below = 0, above = num_tokens + 1;  // files of `below` tokens are smaller than kept's, of `above` not
    if (!kept) {
      below = num_tokens;
    } else {
      while (above - below > 1) {
        const int middle = (below + above) / 2;
        (file_of(middle).bytes.size() < kept->result.bytes.size() ? below : above) = middle;
      }
    }
    int lowest = 1, highest = below;  // the counts still worth measuring
    std::optional<Measured> reached;
    for (int round = 0; round < kOneCountFiles && lowest <= highest; ++round) {
      const int count =
          std::clamp(uniform_count(errors, allowed_error(errors, coded_db), num_tokens), lowest, highest);
      Measured measured;
      measured.result = file_of(count);
      measured.psnr = measure(image, measured.result, model_, spent);
      const double miss = target_ - measured.psnr;
      if (miss > 0) {
        lowest = count + 1;
      } else {
        reached = std::move(measured);
        highest = count - 1;
        if (-miss < kCloseEnoughDb) break;
      }
      coded_db += miss > 0 ? miss + kCloseEnoughDb / 2 : miss;
    }
    return reached;
  }

  bool better(const Measured& a, const Measured& b) const override {
    return a.result.bytes.size() < b.result.bytes.size() ||
           (a.result.bytes.size() == b.result.bytes.size() && a.psnr > b.psnr);
  }

  bool stop_after_scale(const std::optional<Measured>&, bool improved) override {
    no_gain_in_a_row_ = improved ? 0 : no_gain_in_a_row_ + 1;
    const bool stop = !scale_reachable_ || no_gain_in_a_row_ >= 2;
    scale_reachable_ = false;
    return stop;
  }

  EncodeResult none_kept() override {
    if (fallback_) return std::move(*fallback_);
    // The fallback is among the first scale's candidates and always coded, so this is not reached.
    throw CodecError("the target PSNR search coded no full-size file; encode with --scale 1",
                     ErrorKind::kUsage);
  }

 private:
  // How far a scaled copy's pessimistic every-token estimate may fall below the target and still be tried.
  static constexpr double kReachMarginDb = 0.5;
  // A file within this much above the target is not corrected further (refine then takes over).
  static constexpr double kCloseEnoughDb = 0.05;
  // The most tokens refine cuts from one tile in one step: more than one lets it pass a step of the counts
  // field (spec 4.1) that a single token's bits do not pay for.
  static constexpr int kRefineCut = 3;
  // The most moves refine measures exactly for one step before it stops.
  static constexpr int kRefineTries = 6;
  // refine's moves at most, per tile of the copy (each saves bits, so it ends anyway; this bounds its time).
  static constexpr int kRefineStepsPerTile = 8;
  // How far a move's tiles' own error (before the seam filters) may exceed the error the target leaves and
  // still be measured: the seam filters take some of it back.
  static constexpr double kRefineSlackFactor = 1.5;
  model::TileModel& model_;
  const bool refine_;
  const double target_;
  // The size and overlap of the result when no file reaches the target: the forced scale's, else the full
  // size's (what --scale 1 codes), whose first file is kept as fallback_.
  const ScaleCandidate fallback_candidate_;
  const int fallback_tiles_;  // its grid's tiles
  std::optional<EncodeResult> fallback_;
  int resolution_width_ = 0, resolution_height_ = 0;
  double resolution_mse_ = 0;
  bool scale_reachable_ = false;
  int no_gain_in_a_row_ = 0;
  // The coded copy, grid, tokens and options of the best file code() returned so far (with refine_).
  struct Winner {
    Image coded;
    TileGrid grid;
    std::vector<uint16_t> tokens;
    EncodeOptions options;
    Measured kept;
  };
  std::unique_ptr<Winner> winner_;
  const Image& image_;
};

}  // namespace

EncodeResult encode_within_size(const Image& image, model::TileModel& model, const EncodeOptions& options,
                                SizeSearchTimes* times) {
  SizeRate rate(model);
  return search_candidates(image, model, options, rate, times);
}

EncodeResult encode_to_psnr(const Image& image, model::TileModel& model, const EncodeOptions& options,
                            SizeSearchTimes* times, bool refine) {
  check_rate(options);
  PsnrRate rate(image, model, options, refine);
  return search_candidates(image, model, options, rate, times);
}

double tile_squared_error(const Image& image, const TileGrid& grid, int tile_index, const uint8_t* decoded,
                          size_t* values) {
  const int t = grid.tile;
  const size_t plane = static_cast<size_t>(t) * t;
  const int origin_x = grid.origin_x(tile_index % grid.tiles_x),
            origin_y = grid.origin_y(tile_index / grid.tiles_x);
  const int visible_w = std::min(t, grid.width - origin_x), visible_h = std::min(t, grid.height - origin_y);
  double squared = 0;
  for (int y = 0; y < visible_h; ++y)
    for (int x = 0; x < visible_w; ++x)
      for (int c = 0; c < 3; ++c) {
        const double difference =
            double(decoded[c * plane + static_cast<size_t>(y) * t + x]) -
            image.rgb[(static_cast<size_t>(origin_y + y) * grid.width + origin_x + x) * 3 + c];
        squared += difference * difference;
      }
  *values = 3 * static_cast<size_t>(visible_w) * visible_h;
  return squared;
}

std::vector<int> equal_slope_lengths(int num_tokens) {
  std::vector<int> lengths;
  for (int octave = 1; octave < num_tokens; octave *= 2) {
    lengths.push_back(octave);
    if (octave >= 2 && octave + octave / 2 < num_tokens) lengths.push_back(octave + octave / 2);
  }
  lengths.push_back(num_tokens);
  return lengths;
}

std::vector<int> octave_lengths(int num_tokens) {
  std::vector<int> lengths;
  for (int octave = 1; octave < num_tokens; octave *= 2) lengths.push_back(octave);
  lengths.push_back(num_tokens);
  return lengths;
}

std::vector<int> allocate_equal_slope(const Image& image, const TileGrid& grid,
                                      const std::vector<uint16_t>& tokens, model::TileModel& model,
                                      double target_db, const ProgressFn& progress, int64_t done,
                                      int64_t total) {
  const SlopeErrors errors = measure_slope_errors(
      image, grid, tokens, model, equal_slope_lengths(model.info().config.num_tokens), progress, done, total);
  return choose_equal_slope(errors, target_db, model.info().config.num_tokens,
                            model.info().config.codebook_bits());
}

SlopeErrors measure_slope_errors(const Image& image, const TileGrid& grid,
                                 const std::vector<uint16_t>& tokens, model::TileModel& model,
                                 std::vector<int> lengths_measured, const ProgressFn& progress, int64_t done,
                                 int64_t total) {
  const int num_tokens = model.info().config.num_tokens, t = grid.tile,
            batch = std::max(1, model.preferred_batch());
  SlopeErrors errors;
  errors.lengths = std::move(lengths_measured);
  errors.tiles = grid.count();
  const std::vector<int>& lengths = errors.lengths;
  const size_t tile_values = 3ull * t * t, n_lengths = lengths.size();
  std::vector<double>& error = errors.error;
  error.resize(static_cast<size_t>(grid.count()) * n_lengths);
  std::vector<uint8_t> decoded(batch * tile_values);
  std::vector<int> keep(batch);
  size_t& values = errors.values;
  for (size_t k = 0; k < n_lengths; ++k) {
    std::fill(keep.begin(), keep.end(), lengths[k]);
    for (int first = 0; first < grid.count(); first += batch) {
      const int n = std::min(batch, grid.count() - first);
      model.decode_bytes(tokens.data() + static_cast<size_t>(first) * num_tokens, keep.data(), n,
                         decoded.data());
      for (int j = 0; j < n; ++j) {
        size_t tile_values_seen = 0;
        error[(first + j) * n_lengths + k] =
            tile_squared_error(image, grid, first + j, decoded.data() + j * tile_values, &tile_values_seen);
        if (k == 0) values += tile_values_seen;
      }
      done += n;
      if (progress) progress(std::min(done, total - 1), total);
    }
  }
  return errors;
}

double SlopeErrors::least() const {
  const size_t n_lengths = lengths.size();
  double sum = 0;
  for (int i = 0; i < tiles; ++i)
    sum += *std::min_element(error.begin() + i * n_lengths, error.begin() + (i + 1) * n_lengths);
  return sum;
}

std::vector<int> choose_equal_slope(const SlopeErrors& errors, double target_db, int num_tokens,
                                    int codebook_bits) {
  const std::vector<int>& lengths = errors.lengths;
  const std::vector<double>& error = errors.error;
  const size_t n_lengths = lengths.size();
  const int tiles = errors.tiles;
  // The largest lambda (fewest tokens) whose choice reaches the target; per tile the length minimising
  // error + lambda * length (ties: the shorter).
  std::vector<int> choice(tiles);
  const auto choose = [&](double lambda) {
    double sum = 0;
    for (int i = 0; i < tiles; ++i) {
      size_t best = 0;
      for (size_t k = 1; k < n_lengths; ++k)
        if (error[i * n_lengths + k] + lambda * lengths[k] <
            error[i * n_lengths + best] + lambda * lengths[best])
          best = k;
      choice[i] = lengths[best];
      sum += error[i * n_lengths + best];
    }
    return sum;
  };
  // Out of reach, the image stops within kAdaptiveSlackDb of its least error instead of taking every token
  // for the last fraction of a dB (as each tile did in the per-tile mode).
  const double allowed = allowed_error(errors, target_db);
  double low = 0, high = 1;  // choose(low) reaches `allowed`; grow high until it does not
  while (choose(high) <= allowed && high < 1e15) high *= 4;
  for (int round = 0; round < 60; ++round) {
    const double middle = 0.5 * (low + high);
    (choose(middle) <= allowed ? low : high) = middle;
  }
  // The measured lengths are about two per octave, so the last step from high's choice to low's can overshoot
  // the target by a fraction of a dB. Tiles whose choice differs come down towards high's length while the
  // error, interpolated linearly between measured lengths (above the truth where the curve is convex), stays
  // within the target.
  choose(high);
  const std::vector<int> fewer = choice;
  double sum = choose(low);
  const auto interpolated = [&](int tile, int length) { return interpolated_error(errors, tile, length); };
  for (int i = 0; i < tiles; ++i) {
    while (choice[i] > fewer[i]) {
      const double next = sum - interpolated(i, choice[i]) + interpolated(i, choice[i] - 1);
      if (next > allowed) break;
      sum = next;
      --choice[i];
    }
  }
  // Unequal counts cost more bytes than one count for all tiles (spec 4: per tile, or packed): where one
  // count reaching the target needs fewer tokens than that saves, it wins.
  const int uniform = uniform_count(errors, allowed, num_tokens);
  int64_t chosen_tokens = 0;
  for (int count : choice) chosen_tokens += count;
  const std::vector<uint16_t> counts(choice.begin(), choice.end());
  const double count_bytes_in_tokens =
      8.0 * double(format::token_counts_bytes(counts) - 1) / std::max(1, codebook_bits);
  if (double(uniform) * tiles <= double(chosen_tokens) + count_bytes_in_tokens)
    std::fill(choice.begin(), choice.end(), uniform);
  return choice;
}

}  // namespace odp::codec::detail
