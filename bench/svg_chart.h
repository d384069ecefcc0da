// A small, dependency-free SVG line chart (axes, ticks, grid, legend) for the benchmark's rate curves.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace odp::bench {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in the given order
  bool markers_only = false;                      // a lone point set such as ThumbHash
};

struct ChartOptions {
  std::string title, x_label, y_label;
  bool log_x = true;
  int width = 720, height = 460;
};

// Returns a complete SVG document. Non-finite points and (on a log axis) x <= 0 are left out.
std::string line_chart_svg(const std::vector<ChartSeries>& series, const ChartOptions& options);

// "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi], about `count` of them.
std::vector<double> nice_ticks(double lo, double hi, int count);

}  // namespace odp::bench
