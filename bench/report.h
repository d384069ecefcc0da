// Benchmark results: one row per image x codec x operating point, and the CSV, Markdown and SVG made from
// them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/metrics.h"

namespace odp::bench {

// One measured reconstruction (or a budget the codec could not reach).
struct ResultRow {
  std::string image;  // file name
  int width = 0, height = 0;
  std::string codec;    // "odp", "jpeg", "webp", "thumbhash"
  std::string point;    // operating point: "t16" (16 tokens per tile), "psnr32" (adaptive), "thumbhash"
  uint64_t budget = 0;  // the odp file's size at this point (ThumbHash: its own size)
  bool reached = true;  // false: no setting of this codec fits the budget
  uint64_t bytes = 0;
  std::string setting;  // e.g. "q=37 1/2 420"
  Quality quality;
  double encode_ms = 0, decode_ms = 0;
  // Anchors only: the bytes this anchor needs to reach odp's PSNR (RGB) on this image at this point
  // (0 with match_reached false when no setting reaches it).
  uint64_t match_bytes = 0;
  bool match_reached = false;
  double megapixels() const { return width * double(height) / 1e6; }
};

// Per codec and point, the mean over the images that codec reached.
struct SummaryCell {
  std::string codec, point;
  int images = 0, reached = 0;
  double budget = 0, bytes = 0;
  Quality quality;
  double encode_ms = 0, decode_ms = 0, encode_ms_per_mp = 0, decode_ms_per_mp = 0;
  // Anchors: geometric mean over images of match_bytes / odp bytes, and how many images it covers.
  double match_ratio = 0;
  int matched = 0;
  int lpips_measured = 0;  // reached rows with an LPIPS value; quality.lpips is their mean (NaN when none)
};

// With `lpips` (odp-bench --lpips) an lpips column follows swd; without it the columns are as before.
std::string csv_header(bool lpips = false);
std::string csv_line(const ResultRow& row, bool lpips = false);

// Cells in the order the points and codecs first appear in `rows`.
std::vector<SummaryCell> summarize(const std::vector<ResultRow>& rows);

// The Markdown summary: settings, the mean table, the matched-quality (BD-rate-style) table and speed.
// With `lpips` the mean table has an LPIPS column after SWD.
std::string markdown_summary(const std::vector<ResultRow>& rows, const std::string& preamble,
                             bool lpips = false);

// Rate curves: x = mean bytes, y = the chosen measure. Only points reached on every image are drawn.
enum class PlotMeasure { kPsnr, kMsSsim, kSwd, kLpips };
std::string rate_plot_svg(const std::vector<ResultRow>& rows, PlotMeasure measure);

// Formats a number with `digits` decimals; infinity as "inf", NaN as "nan".
std::string format_number(double value, int digits);

}  // namespace odp::bench
