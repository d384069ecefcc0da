// Turns result rows into the CSV, the Markdown summary and the rate plots.
#include "bench/report.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "bench/svg_chart.h"

namespace odp::bench {
namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

template <typename T>
std::vector<std::string> first_seen(const std::vector<ResultRow>& rows, T field) {
  std::vector<std::string> order;
  for (const auto& r : rows)
    if (std::find(order.begin(), order.end(), r.*field) == order.end()) order.push_back(r.*field);
  return order;
}

const SummaryCell* find_cell(const std::vector<SummaryCell>& cells, const std::string& codec,
                             const std::string& point) {
  for (const auto& c : cells)
    if (c.codec == codec && c.point == point) return &c;
  return nullptr;
}

std::string reached_text(const SummaryCell& c) {
  return std::to_string(c.reached) + "/" + std::to_string(c.images);
}

}  // namespace

std::string format_number(double value, int digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << value;
  return s.str();
}

std::string csv_header(bool lpips) {
  return std::string(
             "image,width,height,codec,point,budget_bytes,reached,bytes,setting,psnr_rgb,psnr_y,ssim,"
             "ms_ssim,swd,") +
         (lpips ? "lpips," : "") +
         "encode_ms,decode_ms,encode_ms_per_mp,decode_ms_per_mp,match_bytes,match_reached\n";
}

std::string csv_line(const ResultRow& r, bool lpips) {
  std::ostringstream s;
  s << csv_field(r.image) << ',' << r.width << ',' << r.height << ',' << r.codec << ',' << r.point << ','
    << r.budget << ',' << (r.reached ? 1 : 0) << ',';
  if (r.reached) {
    const double mp = r.megapixels();
    s << r.bytes << ',' << csv_field(r.setting) << ',' << format_number(r.quality.psnr_rgb, 4) << ','
      << format_number(r.quality.psnr_y, 4) << ',' << format_number(r.quality.ssim, 6) << ','
      << format_number(r.quality.ms_ssim, 6) << ',' << format_number(r.quality.swd, 3) << ',';
    if (lpips) s << (std::isnan(r.quality.lpips) ? std::string() : format_number(r.quality.lpips, 6)) << ',';
    s << format_number(r.encode_ms, 3) << ',' << format_number(r.decode_ms, 3) << ','
      << format_number(r.encode_ms / mp, 3) << ',' << format_number(r.decode_ms / mp, 3) << ',';
  } else {
    s << ",cannot reach,,,,,,,,,," << (lpips ? "," : "");
  }
  if (r.codec != "odp" && r.codec != "thumbhash")
    s << (r.match_reached ? std::to_string(r.match_bytes) : std::string()) << ','
      << (r.match_reached ? 1 : 0);
  else
    s << ',';
  s << '\n';
  return s.str();
}

std::vector<SummaryCell> summarize(const std::vector<ResultRow>& rows) {
  std::map<std::pair<std::string, std::string>, const ResultRow*> odp_rows;  // (image, point) -> odp row
  for (const auto& r : rows)
    if (r.codec == "odp" && r.reached) odp_rows[{r.image, r.point}] = &r;
  std::vector<SummaryCell> cells;
  for (const auto& point : first_seen(rows, &ResultRow::point))
    for (const auto& codec : first_seen(rows, &ResultRow::codec)) {
      SummaryCell c;
      c.codec = codec;
      c.point = point;
      double log_ratio = 0, lpips_sum = 0;
      for (const auto& r : rows) {
        if (r.codec != codec || r.point != point) continue;
        ++c.images;
        c.budget += r.budget;
        if (r.match_reached) {
          auto odp = odp_rows.find({r.image, r.point});
          if (odp != odp_rows.end() && odp->second->bytes > 0) {
            log_ratio += std::log(double(r.match_bytes) / odp->second->bytes);
            ++c.matched;
          }
        }
        if (!r.reached) continue;
        ++c.reached;
        c.bytes += r.bytes;
        c.quality.psnr_rgb += r.quality.psnr_rgb;
        c.quality.psnr_y += r.quality.psnr_y;
        c.quality.ssim += r.quality.ssim;
        c.quality.ms_ssim += r.quality.ms_ssim;
        c.quality.swd += r.quality.swd;
        if (!std::isnan(r.quality.lpips)) lpips_sum += r.quality.lpips, ++c.lpips_measured;
        c.encode_ms += r.encode_ms;
        c.decode_ms += r.decode_ms;
        c.encode_ms_per_mp += r.encode_ms / r.megapixels();
        c.decode_ms_per_mp += r.decode_ms / r.megapixels();
      }
      if (c.images == 0) continue;
      c.budget /= c.images;
      if (c.matched) c.match_ratio = std::exp(log_ratio / c.matched);
      if (c.reached) {
        const double n = c.reached;
        c.bytes /= n, c.encode_ms /= n, c.decode_ms /= n, c.encode_ms_per_mp /= n, c.decode_ms_per_mp /= n;
        c.quality.psnr_rgb /= n, c.quality.psnr_y /= n, c.quality.ssim /= n, c.quality.ms_ssim /= n;
        c.quality.swd /= n;
      }
      c.quality.lpips =
          c.lpips_measured ? lpips_sum / c.lpips_measured : std::numeric_limits<double>::quiet_NaN();
      cells.push_back(c);
    }
  return cells;
}

std::string markdown_summary(const std::vector<ResultRow>& rows, const std::string& preamble, bool lpips) {
  const auto cells = summarize(rows);
  const auto points = first_seen(rows, &ResultRow::point);
  const auto codecs = first_seen(rows, &ResultRow::codec);
  std::ostringstream md;
  md << "# odp benchmark\n\n"
     << preamble << "\n\n## Mean per codec and operating point\n\n"
     << "Means are over the images the codec reached within the budget (column *reached*). Budget = the odp "
        "file's size at that point. SWD ×10³: lower is better."
     << (lpips ? " LPIPS (AlexNet, v0.1): lower is better." : "") << "\n\n"
     << "| point | codec | reached | budget B | bytes B | PSNR RGB | PSNR Y | SSIM | MS-SSIM | SWD | "
     << (lpips ? "LPIPS | " : "") << "enc ms/MP | dec ms/MP |\n"
     << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|" << (lpips ? "---:|" : "") << "---:|---:|\n";
  for (const auto& c : cells) {
    md << "| " << c.point << " | " << c.codec << " | " << reached_text(c) << " | "
       << format_number(c.budget, 0) << " | ";
    if (c.reached == 0) {
      md << "cannot reach | | | | | | | |" << (lpips ? " |" : "") << "\n";
      continue;
    }
    md << format_number(c.bytes, 0) << " | " << format_number(c.quality.psnr_rgb, 2) << " | "
       << format_number(c.quality.psnr_y, 2) << " | " << format_number(c.quality.ssim, 4) << " | "
       << format_number(c.quality.ms_ssim, 4) << " | " << format_number(c.quality.swd, 1) << " | ";
    if (lpips) md << (c.lpips_measured ? format_number(c.quality.lpips, 4) : std::string("—")) << " | ";
    md << format_number(c.encode_ms_per_mp, 1) << " | " << format_number(c.decode_ms_per_mp, 1) << " |\n";
  }

  std::vector<std::string> anchors;
  for (const auto& codec : codecs)
    if (codec != "odp" && codec != "thumbhash") anchors.push_back(codec);
  if (!anchors.empty()) {
    md << "\n## Bytes each anchor needs to match odp's PSNR (BD-rate style)\n\n"
       << "Per image, the smallest anchor file (any quality, any downscale) whose PSNR reaches odp's at that "
          "point; *× odp* is the geometric mean over images of anchor bytes / odp bytes (above 1: odp is "
          "smaller at equal PSNR). *n* counts the images the anchor could match at all.\n\n| point | odp "
          "bytes | "
          "odp PSNR |";
    for (const auto& a : anchors) md << ' ' << a << " × odp | " << a << " n |";
    md << "\n|---|---:|---:|";
    for (size_t i = 0; i < anchors.size(); ++i) md << "---:|---:|";
    md << '\n';
    for (const auto& point : points) {
      const SummaryCell* odp = find_cell(cells, "odp", point);
      if (!odp) continue;
      md << "| " << point << " | " << format_number(odp->bytes, 0) << " | "
         << format_number(odp->quality.psnr_rgb, 2) << " |";
      for (const auto& a : anchors) {
        const SummaryCell* c = find_cell(cells, a, point);
        if (c && c->matched)
          md << ' ' << format_number(c->match_ratio, 2) << " | " << c->matched << '/' << c->images << " |";
        else
          md << " — | 0 |";
      }
      md << '\n';
    }
  }

  md << "\n## Speed (mean per image over all reached points)\n\nodp's fixed points share one full-token "
        "encode "
        "(truncation is nearly free); its adaptive points are listed apart because their encoder searches "
        "per "
        "tile, and its --size points (bN) because each searches scale and overlap.\n\n| codec | encode ms | "
        "decode ms | encode ms/MP | decode ms/MP "
        "|\n|---|---:|---:|---:|---:|\n";
  auto speed_group = [](const ResultRow& r) {
    if (r.codec == "odp" && r.point.rfind("psnr", 0) == 0) return std::string("odp adaptive");
    if (r.codec == "odp" && r.point.rfind("b", 0) == 0) return std::string("odp --size");  // a search each
    return r.codec;
  };
  std::vector<std::string> groups;
  for (const auto& r : rows)
    if (std::find(groups.begin(), groups.end(), speed_group(r)) == groups.end())
      groups.push_back(speed_group(r));
  for (const auto& group : groups) {
    double enc = 0, dec = 0, enc_mp = 0, dec_mp = 0;
    int n = 0;
    for (const auto& r : rows)
      if (speed_group(r) == group && r.reached) {
        enc += r.encode_ms, dec += r.decode_ms, enc_mp += r.encode_ms / r.megapixels();
        dec_mp += r.decode_ms / r.megapixels(), ++n;
      }
    if (!n) continue;
    md << "| " << group << " | " << format_number(enc / n, 2) << " | " << format_number(dec / n, 2) << " | "
       << format_number(enc_mp / n, 1) << " | " << format_number(dec_mp / n, 1) << " |\n";
  }
  return md.str();
}

std::string rate_plot_svg(const std::vector<ResultRow>& rows, PlotMeasure measure) {
  const auto cells = summarize(rows);
  std::vector<ChartSeries> series;
  for (const auto& codec : first_seen(rows, &ResultRow::codec)) {
    ChartSeries s;
    s.name = codec;
    s.markers_only = codec == "thumbhash";
    for (const auto& c : cells) {
      // Adaptive points sit at other rates than the fixed token counts; plotting them on the same line
      // would zig-zag, so the curves use the fixed points (the adaptive ones are in the table).
      if (c.codec != codec || c.reached != c.images || c.point.rfind("psnr", 0) == 0) continue;
      const double y = measure == PlotMeasure::kPsnr     ? c.quality.psnr_rgb
                       : measure == PlotMeasure::kMsSsim ? c.quality.ms_ssim
                       : measure == PlotMeasure::kSwd    ? c.quality.swd
                                                         : c.quality.lpips;
      if (measure == PlotMeasure::kLpips && c.lpips_measured != c.reached) continue;
      s.points.emplace_back(c.bytes, y);
    }
    std::sort(s.points.begin(), s.points.end());
    if (!s.points.empty()) series.push_back(std::move(s));
  }
  ChartOptions options;
  options.x_label = "mean file size (bytes, log scale)";
  if (measure == PlotMeasure::kPsnr)
    options.title = "Rate - PSNR (RGB)", options.y_label = "PSNR (dB)";
  else if (measure == PlotMeasure::kMsSsim)
    options.title = "Rate - MS-SSIM", options.y_label = "MS-SSIM (RGB mean)";
  else if (measure == PlotMeasure::kSwd)
    options.title = "Rate - perception (sliced Wasserstein)", options.y_label = "SWD x1000 (lower is better)";
  else
    options.title = "Rate - LPIPS (AlexNet)", options.y_label = "LPIPS (lower is better)";
  return line_chart_svg(series, options);
}

}  // namespace odp::bench
