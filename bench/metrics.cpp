// Image quality measures: PSNR, SSIM, MS-SSIM and the Laplacian-pyramid sliced Wasserstein distance.
#include "bench/metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "base/psnr.h"

namespace odp::bench {
namespace {

// One channel as doubles, row-major: SSIM's E[x^2] - E[x]^2 loses too much in single precision.
struct Plane {
  int width = 0, height = 0;
  std::vector<double> values;
  double at(int x, int y) const { return values[static_cast<size_t>(y) * width + x]; }
};

Plane channel_plane(const Image& image, int channel) {
  Plane plane{image.width, image.height,
              std::vector<double>(static_cast<size_t>(image.width) * image.height)};
  for (size_t i = 0; i < plane.values.size(); ++i) plane.values[i] = image.rgb[i * 3 + channel];
  return plane;
}

double luma(const uint8_t* pixel) { return 0.299 * pixel[0] + 0.587 * pixel[1] + 0.114 * pixel[2]; }

// --- SSIM -------------------------------------------------------------------------------------------

constexpr int kSsimWindow = 11;
constexpr double kSsimSigma = 1.5;
constexpr double kC1 = (0.01 * 255) * (0.01 * 255);
constexpr double kC2 = (0.03 * 255) * (0.03 * 255);

std::array<double, kSsimWindow> gaussian_window() {
  std::array<double, kSsimWindow> w{};
  double sum = 0;
  for (int i = 0; i < kSsimWindow; ++i) {
    const double d = i - kSsimWindow / 2;
    w[i] = std::exp(-d * d / (2 * kSsimSigma * kSsimSigma));
    sum += w[i];
  }
  for (auto& v : w) v /= sum;
  return w;
}

// 'valid' separable filtering with the SSIM window: output is (w - 10) x (h - 10).
Plane filter_valid(const Plane& in) {
  static const auto window = gaussian_window();
  const int out_w = in.width - kSsimWindow + 1, out_h = in.height - kSsimWindow + 1;
  Plane rows{out_w, in.height, std::vector<double>(static_cast<size_t>(out_w) * in.height)};
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < out_w; ++x) {
      double sum = 0;
      for (int k = 0; k < kSsimWindow; ++k) sum += window[k] * in.at(x + k, y);
      rows.values[static_cast<size_t>(y) * out_w + x] = sum;
    }
  Plane out{out_w, out_h, std::vector<double>(static_cast<size_t>(out_w) * out_h)};
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      double sum = 0;
      for (int k = 0; k < kSsimWindow; ++k) sum += window[k] * rows.at(x, y + k);
      out.values[static_cast<size_t>(y) * out_w + x] = sum;
    }
  return out;
}

struct SsimTerms {
  double ssim = 1, contrast_structure = 1;
};

// Mean SSIM and mean contrast-structure term of one channel pair.
SsimTerms ssim_terms(const Plane& a, const Plane& b) {
  const size_t n = a.values.size();
  if (a.width < kSsimWindow || a.height < kSsimWindow) {
    // Too small for one 11x11 window: a single window with uniform weights over the whole image.
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; ++i) ma += a.values[i], mb += b.values[i];
    ma /= n, mb /= n;
    double vaa = 0, vbb = 0, vab = 0;
    for (size_t i = 0; i < n; ++i) {
      const double da = a.values[i] - ma, db = b.values[i] - mb;
      vaa += da * da, vbb += db * db, vab += da * db;
    }
    vaa /= n, vbb /= n, vab /= n;
    const double cs = (2 * vab + kC2) / (vaa + vbb + kC2);
    return {cs * (2 * ma * mb + kC1) / (ma * ma + mb * mb + kC1), cs};
  }
  Plane aa = a, bb = b, ab = a;
  for (size_t i = 0; i < n; ++i) {
    aa.values[i] = a.values[i] * a.values[i];
    bb.values[i] = b.values[i] * b.values[i];
    ab.values[i] = a.values[i] * b.values[i];
  }
  const Plane mu_a = filter_valid(a), mu_b = filter_valid(b);
  const Plane e_aa = filter_valid(aa), e_bb = filter_valid(bb), e_ab = filter_valid(ab);
  double ssim_sum = 0, cs_sum = 0;
  const size_t m = mu_a.values.size();
  for (size_t i = 0; i < m; ++i) {
    const double ma = mu_a.values[i], mb = mu_b.values[i];
    const double vaa = e_aa.values[i] - ma * ma, vbb = e_bb.values[i] - mb * mb,
                 vab = e_ab.values[i] - ma * mb;
    const double cs = (2 * vab + kC2) / (vaa + vbb + kC2);
    cs_sum += cs;
    ssim_sum += cs * (2 * ma * mb + kC1) / (ma * ma + mb * mb + kC1);
  }
  return {ssim_sum / m, cs_sum / m};
}

// 2x2 mean pooling; an odd last row/column is dropped.
Plane halve(const Plane& in) {
  Plane out{std::max(1, in.width / 2), std::max(1, in.height / 2), {}};
  out.values.resize(static_cast<size_t>(out.width) * out.height);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      const int x1 = std::min(2 * x + 1, in.width - 1), y1 = std::min(2 * y + 1, in.height - 1);
      out.values[static_cast<size_t>(y) * out.width + x] =
          0.25 * (in.at(2 * x, 2 * y) + in.at(x1, 2 * y) + in.at(2 * x, y1) + in.at(x1, y1));
    }
  return out;
}

// --- Laplacian pyramid for SWD ----------------------------------------------------------------------

// The 5-tap binomial kernel of Burt & Adelson (and of Karras et al.), mirror edges.
Plane blur5(const Plane& in, double gain) {
  static constexpr double kKernel[5] = {1 / 16., 4 / 16., 6 / 16., 4 / 16., 1 / 16.};
  auto mirror = [](int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
  };
  Plane rows = in, out = in;
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x) {
      double sum = 0;
      for (int k = -2; k <= 2; ++k) sum += kKernel[k + 2] * in.at(mirror(x + k, in.width), y);
      rows.values[static_cast<size_t>(y) * in.width + x] = sum * gain;
    }
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x) {
      double sum = 0;
      for (int k = -2; k <= 2; ++k) sum += kKernel[k + 2] * rows.at(x, mirror(y + k, in.height));
      out.values[static_cast<size_t>(y) * in.width + x] = sum * gain;
    }
  return out;
}

Plane pyramid_down(const Plane& in) {
  const Plane blurred = blur5(in, 1.0);
  Plane out{(in.width + 1) / 2, (in.height + 1) / 2, {}};
  out.values.resize(static_cast<size_t>(out.width) * out.height);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      out.values[static_cast<size_t>(y) * out.width + x] = blurred.at(2 * x, 2 * y);
  return out;
}

Plane pyramid_up(const Plane& in, int width, int height) {
  Plane sparse{width, height, std::vector<double>(static_cast<size_t>(width) * height, 0.0)};
  for (int y = 0; y < in.height && 2 * y < height; ++y)
    for (int x = 0; x < in.width && 2 * x < width; ++x)
      sparse.values[static_cast<size_t>(2 * y) * width + 2 * x] = in.at(x, y);
  return blur5(sparse, 2.0);  // gain 2 per axis restores the mean lost to the inserted zeros
}

using ColorPlanes = std::array<Plane, 3>;

// Laplacian levels, finest first; the last level is the coarsest Gaussian level itself.
std::vector<ColorPlanes> laplacian_pyramid(const Image& image, int min_level_size) {
  ColorPlanes gaussian = {channel_plane(image, 0), channel_plane(image, 1), channel_plane(image, 2)};
  std::vector<ColorPlanes> levels;
  while (std::min(gaussian[0].width, gaussian[0].height) >= 2 * min_level_size) {
    ColorPlanes next, detail;
    for (int c = 0; c < 3; ++c) {
      next[c] = pyramid_down(gaussian[c]);
      const Plane up = pyramid_up(next[c], gaussian[c].width, gaussian[c].height);
      detail[c] = gaussian[c];
      for (size_t i = 0; i < detail[c].values.size(); ++i) detail[c].values[i] -= up.values[i];
    }
    levels.push_back(std::move(detail));
    gaussian = std::move(next);
  }
  levels.push_back(std::move(gaussian));
  return levels;
}

constexpr int kPatch = 7;
constexpr int kDescriptor = 3 * kPatch * kPatch;

// Patch descriptors on a regular grid, stored transposed (kDescriptor x patches) for fast projection.
std::vector<float> grid_patches(const ColorPlanes& level, int max_patches, int* patch_count) {
  const int nx = level[0].width - kPatch + 1, ny = level[0].height - kPatch + 1;
  *patch_count = 0;
  if (nx <= 0 || ny <= 0) return {};
  int stride = 1;
  while (((nx + stride - 1) / stride) * ((ny + stride - 1) / stride) > max_patches) ++stride;
  const int cx = (nx + stride - 1) / stride, cy = (ny + stride - 1) / stride;
  const int count = cx * cy;
  std::vector<float> out(static_cast<size_t>(kDescriptor) * count);
  int p = 0;
  for (int gy = 0; gy < cy; ++gy)
    for (int gx = 0; gx < cx; ++gx, ++p) {
      int k = 0;
      for (int c = 0; c < 3; ++c)
        for (int dy = 0; dy < kPatch; ++dy)
          for (int dx = 0; dx < kPatch; ++dx, ++k)
            out[static_cast<size_t>(k) * count + p] =
                static_cast<float>(level[c].at(gx * stride + dx, gy * stride + dy));
    }
  *patch_count = count;
  return out;
}

// Unit directions from a fixed-seed generator (Box-Muller on mt19937_64, identical on every platform).
std::vector<float> random_directions(int count, uint64_t seed) {
  std::mt19937_64 generator(seed);
  auto uniform = [&] { return (static_cast<double>(generator() >> 11) + 0.5) / 9007199254740992.0; };
  std::vector<float> dirs(static_cast<size_t>(count) * kDescriptor);
  for (int d = 0; d < count; ++d) {
    double norm = 0;
    for (int k = 0; k < kDescriptor; ++k) {
      const double g = std::sqrt(-2 * std::log(uniform())) * std::cos(2 * M_PI * uniform());
      dirs[static_cast<size_t>(d) * kDescriptor + k] = static_cast<float>(g);
      norm += g * g;
    }
    for (int k = 0; k < kDescriptor; ++k) dirs[static_cast<size_t>(d) * kDescriptor + k] /= std::sqrt(norm);
  }
  return dirs;
}

// Normalises the descriptors with the reference level's statistics, projects and sorts each direction.
std::vector<float> sorted_projections(std::vector<float> patches, int count, const SwdReference::Level& level,
                                      const std::vector<float>& dirs, int directions) {
  for (int k = 0; k < kDescriptor; ++k) {
    const int c = k / (kPatch * kPatch);
    for (int p = 0; p < count; ++p) {
      float& v = patches[static_cast<size_t>(k) * count + p];
      v = (v - level.mean[c]) / level.stddev[c];
    }
  }
  std::vector<float> proj(static_cast<size_t>(directions) * count, 0.f);
  for (int d = 0; d < directions; ++d) {
    float* row = &proj[static_cast<size_t>(d) * count];
    for (int k = 0; k < kDescriptor; ++k) {
      const float w = dirs[static_cast<size_t>(d) * kDescriptor + k];
      const float* src = &patches[static_cast<size_t>(k) * count];
      for (int p = 0; p < count; ++p) row[p] += w * src[p];
    }
    std::sort(row, row + count);
  }
  return proj;
}

// The directions are a pure function of the options; kept with the process so that each call is cheap.
const std::vector<float>& directions_for(const SwdOptions& options) {
  thread_local SwdOptions cached_options{0, 0, 0, 0};
  thread_local std::vector<float> cached;
  if (cached_options.directions != options.directions || cached_options.seed != options.seed) {
    cached = random_directions(options.directions, options.seed);
    cached_options = options;
  }
  return cached;
}

}  // namespace

void require_same_size(const Image& reference, const Image& test, const char* what) {
  if (reference.width <= 0 || reference.height <= 0)
    throw BenchError(std::string(what) + ": the reference image is empty");
  if (reference.width != test.width || reference.height != test.height)
    throw BenchError(std::string(what) + ": image sizes differ (" + std::to_string(reference.width) + "x" +
                     std::to_string(reference.height) + " vs " + std::to_string(test.width) + "x" +
                     std::to_string(test.height) + ")");
  const size_t expected = static_cast<size_t>(reference.width) * reference.height * 3;
  if (reference.rgb.size() != expected || test.rgb.size() != expected)
    throw BenchError(std::string(what) + ": pixel buffer does not match the image size");
}

double psnr_rgb(const Image& reference, const Image& test) {
  require_same_size(reference, test, "PSNR");
  return odp::base::psnr(reference, test);
}

double psnr_y(const Image& reference, const Image& test) {
  require_same_size(reference, test, "PSNR-Y");
  double sum = 0;
  const size_t pixels = reference.rgb.size() / 3;
  for (size_t i = 0; i < pixels; ++i) {
    const double d = luma(&reference.rgb[i * 3]) - luma(&test.rgb[i * 3]);
    sum += d * d;
  }
  return odp::base::psnr_from_squared_error(sum, pixels);
}

double ssim(const Image& reference, const Image& test) {
  require_same_size(reference, test, "SSIM");
  double sum = 0;
  for (int c = 0; c < 3; ++c) sum += ssim_terms(channel_plane(reference, c), channel_plane(test, c)).ssim;
  return sum / 3;
}

double ms_ssim(const Image& reference, const Image& test) {
  require_same_size(reference, test, "MS-SSIM");
  static constexpr double kWeights[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
  int scales = 1;
  while (scales < 5 && std::min(reference.width, reference.height) >> scales >= kSsimWindow) ++scales;
  double weight_sum = 0;
  for (int s = 0; s < scales; ++s) weight_sum += kWeights[s];
  double total = 0;
  for (int c = 0; c < 3; ++c) {
    Plane a = channel_plane(reference, c), b = channel_plane(test, c);
    double product = 1;
    for (int s = 0; s < scales; ++s) {
      const SsimTerms terms = ssim_terms(a, b);
      const double term = s + 1 < scales ? terms.contrast_structure : terms.ssim;
      product *= std::pow(std::max(0.0, term), kWeights[s] / weight_sum);
      if (s + 1 < scales) a = halve(a), b = halve(b);
    }
    total += product;
  }
  return total / 3;
}

SwdReference swd_reference(const Image& reference, const SwdOptions& options) {
  require_same_size(reference, reference, "SWD");
  if (options.directions <= 0 || options.max_patches <= 0 || options.min_level_size < kPatch)
    throw BenchError("SWD: directions and max_patches must be positive and min_level_size at least 7");
  SwdReference ref;
  ref.options = options;
  ref.width = reference.width;
  ref.height = reference.height;
  const auto& dirs = directions_for(options);
  for (const ColorPlanes& planes : laplacian_pyramid(reference, options.min_level_size)) {
    SwdReference::Level level;
    std::vector<float> patches = grid_patches(planes, options.max_patches, &level.patches);
    if (level.patches == 0) continue;
    for (int c = 0; c < 3; ++c) {
      double sum = 0, sum_sq = 0;
      const size_t begin = static_cast<size_t>(c) * kPatch * kPatch * level.patches;
      const size_t end = begin + static_cast<size_t>(kPatch) * kPatch * level.patches;
      for (size_t i = begin; i < end; ++i) sum += patches[i], sum_sq += double(patches[i]) * patches[i];
      const double n = static_cast<double>(end - begin), mean = sum / n;
      level.mean[c] = static_cast<float>(mean);
      // A flat reference channel has no spread; 1 keeps the units (grey levels) instead of dividing by 0.
      level.stddev[c] = static_cast<float>(std::max(1.0, std::sqrt(std::max(0.0, sum_sq / n - mean * mean))));
    }
    level.sorted_projections =
        sorted_projections(std::move(patches), level.patches, level, dirs, options.directions);
    ref.levels.push_back(std::move(level));
  }
  return ref;
}

double swd(const SwdReference& reference, const Image& test) {
  if (test.width != reference.width || test.height != reference.height)
    throw BenchError("SWD: image sizes differ (" + std::to_string(reference.width) + "x" +
                     std::to_string(reference.height) + " vs " + std::to_string(test.width) + "x" +
                     std::to_string(test.height) + ")");
  require_same_size(test, test, "SWD");
  if (reference.levels.empty()) return std::numeric_limits<double>::quiet_NaN();  // smaller than one patch
  const SwdOptions& options = reference.options;
  const auto& dirs = directions_for(options);
  const auto pyramid = laplacian_pyramid(test, options.min_level_size);
  double total = 0;
  size_t used = 0;
  for (size_t i = 0; i < pyramid.size() && used < reference.levels.size(); ++i) {
    int count = 0;
    std::vector<float> patches = grid_patches(pyramid[i], options.max_patches, &count);
    if (count == 0) continue;
    const auto& level = reference.levels[used++];
    const std::vector<float> proj =
        sorted_projections(std::move(patches), count, level, dirs, options.directions);
    double sum = 0;
    for (size_t k = 0; k < proj.size(); ++k) sum += std::fabs(proj[k] - level.sorted_projections[k]);
    total += sum / proj.size();
  }
  return 1000.0 * total / used;
}

double swd(const Image& reference, const Image& test, const SwdOptions& options) {
  return swd(swd_reference(reference, options), test);
}

Quality measure(const Image& reference, const SwdReference& swd_ref, const Image& test) {
  Quality q;
  q.psnr_rgb = psnr_rgb(reference, test);
  q.psnr_y = psnr_y(reference, test);
  q.ssim = ssim(reference, test);
  q.ms_ssim = ms_ssim(reference, test);
  q.swd = swd(swd_ref, test);
  return q;
}

}  // namespace odp::bench
