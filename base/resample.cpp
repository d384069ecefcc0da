// Bicubic resizing: one horizontal then one vertical pass of precomputed, normalised kernel weights.
#include "base/resample.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace odp::base {
namespace {

double cubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

// For each output position: the first input index and the weights of the inputs it reads.
struct Taps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> weights;  // out_size x max_taps
  int max_taps = 0;
};

Taps make_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double stretch = std::max(1.0, scale);
  const double support = 2.0 * stretch;
  Taps taps;
  taps.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(static_cast<size_t>(out_size) * taps.max_taps, 0.f);
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(std::floor(center - support)));
    const int hi = std::min(in_size, static_cast<int>(std::ceil(center + support)));
    double sum = 0;
    std::vector<double> w;
    for (int i = lo; i < hi; ++i) {
      w.push_back(cubic((i + 0.5 - center) / stretch));
      sum += w.back();
    }
    taps.first[o] = lo;
    taps.count[o] = static_cast<int>(w.size());
    for (size_t k = 0; k < w.size(); ++k)
      taps.weights[static_cast<size_t>(o) * taps.max_taps + k] =
          static_cast<float>(sum != 0 ? w[k] / sum : 0);
  }
  return taps;
}

// Round half up after clamping (cheaper than lround, which showed in profiles).
uint8_t to_byte(float v) { return static_cast<uint8_t>(std::clamp(v, 0.f, 255.f) + 0.5f); }

}  // namespace

Image resize_bicubic(const Image& source, int width, int height) {
  if (width <= 0 || height <= 0)
    throw Error(
        "resize: target size " + std::to_string(width) + "x" + std::to_string(height) + " must be positive",
        ErrorKind::kUsage);
  if (source.width <= 0 || source.height <= 0 ||
      source.rgb.size() != static_cast<size_t>(source.width) * source.height * 3)
    throw Error("resize: the source image is empty or its pixels do not match its size", ErrorKind::kUsage);
  if (width == source.width && height == source.height) return source;
  const Taps tx = make_taps(source.width, width), ty = make_taps(source.height, height);
  // Horizontal pass into floats, vertical pass into bytes: one rounding only.
  std::vector<float> rows(static_cast<size_t>(width) * source.height * 3);
  for (int y = 0; y < source.height; ++y)
    for (int x = 0; x < width; ++x) {
      float acc[3] = {0, 0, 0};
      const float* w = &tx.weights[static_cast<size_t>(x) * tx.max_taps];
      const uint8_t* src = &source.rgb[(static_cast<size_t>(y) * source.width + tx.first[x]) * 3];
      for (int k = 0; k < tx.count[x]; ++k)
        for (int c = 0; c < 3; ++c) acc[c] += w[k] * src[k * 3 + c];
      for (int c = 0; c < 3; ++c) rows[(static_cast<size_t>(y) * width + x) * 3 + c] = acc[c];
    }
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<size_t>(width) * height * 3);
  // Whole rows at a time (contiguous, so the compiler vectorises them): each value still sums its taps in
  // order k = 0, 1, ... from 0, the same float operations as one value at a time, so the bytes do not move.
  const size_t row_values = static_cast<size_t>(width) * 3;
  std::vector<float> acc(row_values);
  for (int y = 0; y < height; ++y) {
    const float* w = &ty.weights[static_cast<size_t>(y) * ty.max_taps];
    std::fill(acc.begin(), acc.end(), 0.f);
    for (int k = 0; k < ty.count[y]; ++k) {
      const float* row = &rows[static_cast<size_t>(ty.first[y] + k) * row_values];
      const float weight = w[k];
      for (size_t i = 0; i < row_values; ++i) acc[i] += weight * row[i];
    }
    uint8_t* out_row = &out.rgb[static_cast<size_t>(y) * row_values];
    for (size_t i = 0; i < row_values; ++i) out_row[i] = to_byte(acc[i]);
  }
  return out;
}

void scaled_size(int width, int height, double divisor, int* out_width, int* out_height) {
  *out_width = std::max(1, static_cast<int>(std::lround(width / divisor)));
  *out_height = std::max(1, static_cast<int>(std::lround(height / divisor)));
}

}  // namespace odp::base
