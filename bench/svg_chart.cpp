// SVG line charts written by hand: no plotting library is needed on the benchmark machines.
#include "bench/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace odp::bench {
namespace {

// Colour-blind-safe palette (Okabe & Ito), first entry for odp.
const char* const kColors[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

std::string escape_xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string format_tick(double v) {
  std::ostringstream s;
  if (std::fabs(v) >= 10000 || (v != 0 && std::fabs(v) < 0.01))
    s.precision(2), s << std::scientific << v;
  else
    s << v;
  return s.str();
}

bool usable(double x, double y, bool log_x) {
  return std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0);
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, count);
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> ticks;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    ticks.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

std::string line_chart_svg(const std::vector<ChartSeries>& series, const ChartOptions& options) {
  const double left = 70, right = 170, top = 40, bottom = 60;
  const double plot_w = options.width - left - right, plot_h = options.height - top - bottom;
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points)
      if (usable(x, y, options.log_x)) {
        const double tx = options.log_x ? std::log10(x) : x;
        x_lo = std::min(x_lo, tx), x_hi = std::max(x_hi, tx), y_lo = std::min(y_lo, y),
        y_hi = std::max(y_hi, y);
      }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  if (options.log_x)
    x_lo = std::floor(x_lo), x_hi = std::max(std::ceil(x_hi), x_lo + 1);
  else if (x_hi <= x_lo)
    x_hi = x_lo + 1;
  const double y_pad = std::max(1e-9, (y_hi - y_lo) * 0.05);
  y_lo -= y_pad, y_hi += y_pad;
  const std::vector<double> y_ticks = nice_ticks(y_lo, y_hi, 6);
  auto px = [&](double x) {
    return left + ((options.log_x ? std::log10(x) : x) - x_lo) / (x_hi - x_lo) * plot_w;
  };
  auto py = [&](double y) { return top + (y_hi - y) / (y_hi - y_lo) * plot_h; };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << options.width << "\" height=\""
      << options.height << "\" viewBox=\"0 0 " << options.width << ' ' << options.height
      << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << left + plot_w / 2
      << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">"
      << escape_xml(options.title) << "</text>\n";
  // Grid and ticks.
  std::vector<double> x_ticks;
  if (options.log_x) {
    for (int e = static_cast<int>(x_lo); e <= static_cast<int>(x_hi); ++e)
      for (double m : {1.0, 2.0, 5.0})
        if (e + std::log10(m) <= x_hi + 1e-9) x_ticks.push_back(m * std::pow(10, e));
  } else {
    x_ticks = nice_ticks(x_lo, x_hi, 8);
  }
  for (double t : x_ticks) {
    const double x = px(t);
    svg << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x << "\" y2=\"" << top + plot_h
        << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << x << "\" y=\"" << top + plot_h + 16
        << "\" text-anchor=\"middle\">" << format_tick(t) << "</text>\n";
  }
  for (double t : y_ticks) {
    if (t < y_lo || t > y_hi) continue;
    const double y = py(t);
    svg << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << left + plot_w << "\" y2=\"" << y
        << "\" stroke=\"#e5e5e5\"/>\n<text x=\"" << left - 6 << "\" y=\"" << y + 4
        << "\" text-anchor=\"end\">" << format_tick(t) << "</text>\n";
  }
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" fill=\"none\" stroke=\"#333\"/>\n"
      << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << options.height - 14 << "\" text-anchor=\"middle\">"
      << escape_xml(options.x_label) << "</text>\n"
      << "<text transform=\"translate(18 " << top + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << escape_xml(options.y_label) << "</text>\n";
  // Series and legend.
  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % (sizeof(kColors) / sizeof(kColors[0]))];
    std::ostringstream path;
    int drawn = 0;
    for (const auto& [x, y] : series[i].points) {
      if (!usable(x, y, options.log_x)) continue;
      path << (drawn++ ? " L" : "M") << px(x) << ',' << py(y);
      svg << "<circle cx=\"" << px(x) << "\" cy=\"" << py(y) << "\" r=\"3.5\" fill=\"" << color << "\"/>\n";
    }
    if (drawn > 1 && !series[i].markers_only)
      svg << "<path d=\"" << path.str() << "\" fill=\"none\" stroke=\"" << color
          << "\" stroke-width=\"2\"/>\n";
    const double ly = top + 10 + 20 * static_cast<double>(i), lx = left + plot_w + 16;
    svg << "<line x1=\"" << lx << "\" y1=\"" << ly << "\" x2=\"" << lx + 22 << "\" y2=\"" << ly
        << "\" stroke=\"" << color << "\" stroke-width=\"2\"/><circle cx=\"" << lx + 11 << "\" cy=\"" << ly
        << "\" r=\"3.5\" fill=\"" << color << "\"/>\n<text x=\"" << lx + 28 << "\" y=\"" << ly + 4 << "\">"
        << escape_xml(series[i].name) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace odp::bench
