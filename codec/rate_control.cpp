// kSize's search over the coded image's scale and the tile overlap, measured by decoding each candidate.
#include "codec/rate_control.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "base/psnr.h"
#include "base/resample.h"
#include "codec/tiling.h"

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

EncodeResult encode_within_size(const Image& image, model::TileModel& model, const EncodeOptions& options,
                                SizeSearchTimes* times) {
  SizeSearchTimes unused;
  SizeSearchTimes& spent = times ? *times : unused;
  const int tile = model.info().config.tile_size;
  struct Candidate {
    int width, height, overlap;
    bool operator==(const Candidate& other) const {
      return width == other.width && height == other.height && overlap == other.overlap;
    }
  };
  std::vector<std::vector<Candidate>> by_scale;  // per divisor, its overlap rules
  for (double divisor : kSizeDivisors) {
    int width = 0, height = 0;
    base::scaled_size(image.width, image.height, divisor, &width, &height);
    if (divisor != 1 && std::min(width, height) < kMinCodedSide) break;
    if (!by_scale.empty() && by_scale.back().front().width == width &&
        by_scale.back().front().height == height)
      continue;
    std::vector<Candidate> rules;
    if (options.tile_overlap != kAutoOverlap) {
      rules.push_back({width, height, options.tile_overlap});
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
    const Candidate fill{filled(width, image.width), filled(height, image.height), 0};
    const auto tried_before = [&](const Candidate& c) {
      const auto holds = [&](const std::vector<Candidate>& list) {
        return std::find(list.begin(), list.end(), c) != list.end();
      };
      return holds(rules) || std::any_of(by_scale.begin(), by_scale.end(), holds);
    };
    if (options.tile_overlap == kAutoOverlap && !tried_before(fill)) rules.push_back(fill);
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
    // Rules of one size share its coded copy (resampled once); the image's own size codes the image.
    Image coded;
    for (const Candidate& candidate : rules) {
      const bool own_size = candidate.width == image.width && candidate.height == image.height;
      if (!own_size && (coded.width != candidate.width || coded.height != candidate.height)) {
        PhaseTimer timer(&spent.resample);
        coded = base::resize_bicubic(image, candidate.width, candidate.height);
      }
      EncodeOptions one = options;
      one.tile_overlap = candidate.overlap;
      const int64_t base_units = tried * kUnits;
      one.progress = [&](int64_t done, int64_t of) {
        if (options.progress && of > 0) options.progress(base_units + done * kUnits / of, total * kUnits);
      };
      ++tried;
      ++spent.candidates;
      EncodeResult result;
      try {
        PhaseTimer timer(&spent.encode);
        result = encode_coded(image, own_size ? image : coded, model, one);
      } catch (const CodecError& error) {
        if (error.kind() != ErrorKind::kUsage) throw;
        smallest_failure = error;  // does not fit at this scale and overlap
        continue;
      }
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
      double psnr = 0;
      {
        PhaseTimer timer(&spent.psnr);
        psnr = base::psnr(image, decoded);
      }
      scale_psnr = std::max(scale_psnr, psnr);
      if (psnr > best_psnr) {
        best_psnr = psnr;
        best = std::move(result);
      }
    }
    worse_in_a_row = best && scale_psnr < best_psnr ? worse_in_a_row + 1 : 0;
    if (worse_in_a_row >= 2) break;
    // Every token of every tile fits: a smaller copy can only lose detail.
    if (best && best->stats.mean_tokens >= model.info().config.num_tokens) break;
  }
  if (!best) throw *smallest_failure;
  best->stats.candidates = tried;
  if (options.progress) options.progress(total * kUnits, total * kUnits);
  return std::move(*best);
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

std::vector<int> allocate_equal_slope(const Image& image, const TileGrid& grid,
                                      const std::vector<uint16_t>& tokens, model::TileModel& model,
                                      double target_db, const ProgressFn& progress, int64_t done,
                                      int64_t total) {
  const int num_tokens = model.info().config.num_tokens, t = grid.tile,
            batch = std::max(1, model.preferred_batch());
  const std::vector<int> lengths = equal_slope_lengths(num_tokens);
  const size_t tile_values = 3ull * t * t, n_lengths = lengths.size();
  // error[tile * n_lengths + k]: the tile's squared error when it keeps lengths[k] tokens.
  std::vector<double> error(static_cast<size_t>(grid.count()) * n_lengths);
  std::vector<uint8_t> decoded(batch * tile_values);
  std::vector<int> keep(batch);
  size_t values = 0;
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
  // The largest lambda (fewest tokens) whose choice reaches the target; per tile the length minimising
  // error + lambda * length (ties: the shorter).
  std::vector<int> choice(grid.count());
  const auto choose = [&](double lambda) {
    double sum = 0;
    for (int i = 0; i < grid.count(); ++i) {
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
  const double least = choose(0);
  const double allowed = std::max(values * 255.0 * 255.0 / std::pow(10.0, target_db / 10.0),
                                  least * std::pow(10.0, kAdaptiveSlackDb / 10.0));
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
  const auto interpolated = [&](int tile, int length) {
    size_t k = 0;
    while (k + 1 < n_lengths && lengths[k + 1] < length) ++k;
    if (lengths[k] >= length || k + 1 == n_lengths) return error[tile * n_lengths + k];
    const double f = double(length - lengths[k]) / double(lengths[k + 1] - lengths[k]);
    return (1 - f) * error[tile * n_lengths + k] + f * error[tile * n_lengths + k + 1];
  };
  for (int i = 0; i < grid.count(); ++i) {
    while (choice[i] > fewer[i]) {
      const double next = sum - interpolated(i, choice[i]) + interpolated(i, choice[i] - 1);
      if (next > allowed) break;
      sum = next;
      --choice[i];
    }
  }
  // Unequal counts cost one byte per tile instead of one (spec 4): where one count for all tiles reaching the
  // target needs fewer tokens than that saves, it wins.
  int uniform = 1;
  for (; uniform < num_tokens; ++uniform) {
    double total_error = 0;
    for (int i = 0; i < grid.count(); ++i) total_error += interpolated(i, uniform);
    if (total_error <= allowed) break;
  }
  int64_t chosen_tokens = 0;
  for (int count : choice) chosen_tokens += count;
  const bool unequal = std::any_of(choice.begin(), choice.end(), [&](int c) { return c != choice[0]; });
  const double count_bytes_in_tokens =
      unequal ? 8.0 * (grid.count() - 1) / std::max(1, model.info().config.codebook_bits()) : 0.0;
  if (double(uniform) * grid.count() <= double(chosen_tokens) + count_bytes_in_tokens)
    std::fill(choice.begin(), choice.end(), uniform);
  return choice;
}

}  // namespace odp::codec::detail
