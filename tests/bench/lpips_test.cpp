// LPIPS-alex with random weights: metric properties, agreement with plain loops, refused files.
#include "bench/lpips.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_test_images.h"
#include "tests/lpips_test_weights.h"

namespace fs = std::filesystem;
using namespace odp::bench;
using Catch::Matchers::Contains;
using odp::testing::lpips_temp_path;
using odp::testing::TempWeights;

namespace {

// A smooth image: gradients and two soft blobs, no texture.
Image smooth_image(int width, int height) {
  return test::make_image(width, height, [&](int x, int y, int c) {
    const double u = double(x) / width, v = double(y) / height;
    const double blob = std::exp(-((u - .3) * (u - .3) + (v - .6) * (v - .6)) * 12) * 90 -
                        std::exp(-((u - .7) * (u - .7) + (v - .3) * (v - .3)) * 20) * 60;
    return static_cast<int>(std::lround(std::clamp(70 + 110 * u + 40 * v * (c - 1) + blob, 0.0, 255.0)));
  });
}

Image with_noise(const Image& image, double sigma, uint32_t seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<double> noise(0, sigma);
  Image out = image;
  for (auto& s : out.rgb) s = static_cast<uint8_t>(std::lround(std::clamp(s + noise(generator), 0.0, 255.0)));
  return out;
}

// LPIPS written out with plain loops in double precision, from the formulas of lpips/lpips.py and
// torchvision's AlexNet, to check the LibTorch forward pass (layout, strides, padding, pooling,
// normalisation, heads).
struct Map {
  int c = 0, h = 0, w = 0;
  std::vector<double> v;
  Map(int c_, int h_, int w_) : c(c_), h(h_), w(w_), v(static_cast<size_t>(c_) * h_ * w_) {}
  double& at(int ch, int y, int x) { return v[(static_cast<size_t>(ch) * h + y) * w + x]; }
  double at(int ch, int y, int x) const { return v[(static_cast<size_t>(ch) * h + y) * w + x]; }
};

Map conv_relu(const Map& in, const std::vector<float>& weight, const std::vector<float>& bias, int out, int k,
              int stride, int pad) {
  Map o(out, (in.h + 2 * pad - k) / stride + 1, (in.w + 2 * pad - k) / stride + 1);
  for (int oc = 0; oc < out; ++oc)
    for (int y = 0; y < o.h; ++y)
      for (int x = 0; x < o.w; ++x) {
        double sum = bias[oc];
        for (int ic = 0; ic < in.c; ++ic)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int iy = y * stride - pad + ky, ix = x * stride - pad + kx;
              if (iy < 0 || ix < 0 || iy >= in.h || ix >= in.w) continue;
              sum += weight[((static_cast<size_t>(oc) * in.c + ic) * k + ky) * k + kx] * in.at(ic, iy, ix);
            }
        o.at(oc, y, x) = std::max(0.0, sum);
      }
  return o;
}

Map max_pool_3_2(const Map& in) {
  Map o(in.c, (in.h - 3) / 2 + 1, (in.w - 3) / 2 + 1);
  for (int c = 0; c < in.c; ++c)
    for (int y = 0; y < o.h; ++y)
      for (int x = 0; x < o.w; ++x) {
        double m = -1e300;
        for (int dy = 0; dy < 3; ++dy)
          for (int dx = 0; dx < 3; ++dx) m = std::max(m, in.at(c, 2 * y + dy, 2 * x + dx));
        o.at(c, y, x) = m;
      }
  return o;
}

Map unit_over_channels(Map m) {
  for (int y = 0; y < m.h; ++y)
    for (int x = 0; x < m.w; ++x) {
      double ss = 0;
      for (int c = 0; c < m.c; ++c) ss += m.at(c, y, x) * m.at(c, y, x);
      for (int c = 0; c < m.c; ++c) m.at(c, y, x) /= std::sqrt(ss) + 1e-10;
    }
  return m;
}

std::vector<Map> plain_taps(const odp::testing::RandomLpips& weights, const Image& image) {
  const double shift[3] = {-.030, -.088, -.188}, scale[3] = {.458, .448, .450};
  Map x(3, image.height, image.width);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < image.height; ++y)
      for (int i = 0; i < image.width; ++i)
        x.at(c, y, i) =
            (image.rgb[(static_cast<size_t>(y) * image.width + i) * 3 + c] / 255.0 * 2 - 1 - shift[c]) /
            scale[c];
  const auto& w = weights.values;
  std::vector<Map> taps;
  x = conv_relu(x, w.at("net.slice1.0.weight"), w.at("net.slice1.0.bias"), 64, 11, 4, 2);
  taps.push_back(x);
  x = conv_relu(max_pool_3_2(x), w.at("net.slice2.3.weight"), w.at("net.slice2.3.bias"), 192, 5, 1, 2);
  taps.push_back(x);
  x = conv_relu(max_pool_3_2(x), w.at("net.slice3.6.weight"), w.at("net.slice3.6.bias"), 384, 3, 1, 1);
  taps.push_back(x);
  x = conv_relu(x, w.at("net.slice4.8.weight"), w.at("net.slice4.8.bias"), 256, 3, 1, 1);
  taps.push_back(x);
  x = conv_relu(x, w.at("net.slice5.10.weight"), w.at("net.slice5.10.bias"), 256, 3, 1, 1);
  taps.push_back(x);
  for (auto& t : taps) t = unit_over_channels(t);
  return taps;
}

double plain_lpips(const odp::testing::RandomLpips& weights, const Image& a, const Image& b) {
  const auto ta = plain_taps(weights, a), tb = plain_taps(weights, b);
  double total = 0;
  for (int k = 0; k < 5; ++k) {
    const auto& lin = weights.values.at("lin" + std::to_string(k) + ".model.1.weight");
    double sum = 0;
    for (int c = 0; c < ta[k].c; ++c)
      for (int y = 0; y < ta[k].h; ++y)
        for (int x = 0; x < ta[k].w; ++x) {
          const double d = ta[k].at(c, y, x) - tb[k].at(c, y, x);
          sum += lin[c] * d * d;
        }
    total += sum / (ta[k].h * ta[k].w);
  }
  return total;
}

}  // namespace

TEST_CASE("LPIPS is zero for identical images, symmetric, and positive for different ones") {
  const TempWeights weights("random.safetensors", odp::testing::random_lpips(1).file);
  const Lpips lpips(weights.path.string());
  CHECK(lpips.path() == weights.path.string());
  const Image photo = test::make_photo_like(80, 64), noise = test::make_noise(80, 64, 7);
  const Image shifted = test::make_image(80, 64, [&](int x, int y, int c) {
    return photo.rgb[(static_cast<size_t>(y) * 80 + std::min(x + 3, 79)) * 3 + c];
  });
  CHECK(lpips.distance(photo, photo) == 0.0);
  CHECK(lpips.distance(noise, noise) == 0.0);
  for (const Image* other : {&noise, &shifted}) {
    const double ab = lpips.distance(photo, *other), ba = lpips.distance(*other, photo);
    CHECK(ab > 0);
    CHECK(std::isfinite(ab));
    CHECK(ba == Approx(ab).epsilon(1e-6));
  }
  CHECK(lpips.distance(photo, noise) > lpips.distance(photo, shifted));
  // A reference computed once gives the same values as the pairwise call.
  const LpipsReference ref = lpips.reference(photo);
  CHECK(lpips.distance(ref, noise) == Approx(lpips.distance(photo, noise)).epsilon(1e-6));
  CHECK(lpips.distance(ref, photo) == 0.0);
  CHECK_THROWS_AS(lpips.distance(ref, test::make_noise(64, 80, 7)), BenchError);
}

TEST_CASE("LPIPS grows with the noise added to a smooth image") {
  const TempWeights weights("noise.safetensors", odp::testing::random_lpips(2).file);
  const Lpips lpips(weights.path.string());
  const Image smooth = smooth_image(96, 80);
  const LpipsReference ref = lpips.reference(smooth);
  double previous = 0;
  for (double sigma : {2.0, 8.0, 24.0, 64.0}) {
    const double d = lpips.distance(ref, with_noise(smooth, sigma, 11));
    CAPTURE(sigma, d, previous);
    CHECK(d > previous);
    previous = d;
  }
}

TEST_CASE("LPIPS matches a plain-loop computation of the same network") {
  const odp::testing::RandomLpips random = odp::testing::random_lpips(3);
  const TempWeights weights("plain.safetensors", random.file);
  const Lpips lpips(weights.path.string());
  // 72x56 (not square, so that a swapped height and width would show): taps of 17x13, 8x6, 3x2, 3x2, 3x2.
  const Image a = test::make_photo_like(72, 56), b = with_noise(smooth_image(72, 56), 10, 5);
  const double expected = plain_lpips(random, a, b);
  CAPTURE(expected);
  CHECK(expected > 0);
  CHECK(lpips.distance(a, b) == Approx(expected).epsilon(1e-4));
  // The smallest image AlexNet takes (last taps 1x1), and one pixel less is refused.
  const Image small_a = test::make_photo_like(Lpips::kMinSide, 40),
              small_b = test::make_noise(Lpips::kMinSide, 40, 3);
  CHECK(lpips.distance(small_a, small_b) == Approx(plain_lpips(random, small_a, small_b)).epsilon(1e-4));
  CHECK_FALSE(Lpips::fits(test::make_noise(Lpips::kMinSide - 1, 40, 3)));
  CHECK_THROWS_WITH(lpips.reference(test::make_noise(40, Lpips::kMinSide - 1, 3)),
                    Contains("at least 31x31"));
}

TEST_CASE("an LPIPS file with a missing, misshaped or mistyped tensor is refused with its name") {
  const std::string missing_name = "net.slice3.6.weight";
  odp::model::SafetensorsFile file = odp::testing::random_lpips(4).file;
  file.tensors.erase(missing_name);
  {
    const TempWeights weights("missing.safetensors", file);
    CHECK_THROWS_AS(Lpips(weights.path.string()), BenchError);
    CHECK_THROWS_WITH(Lpips(weights.path.string()),
                      Contains(missing_name) && Contains(weights.path.string()));
  }
  file = odp::testing::random_lpips(4).file;
  file.tensors.erase("lin4.model.1.weight");
  {
    const TempWeights weights("missing-lin.safetensors", file);
    CHECK_THROWS_WITH(Lpips(weights.path.string()), Contains("lin4.model.1.weight") && Contains("lacks"));
  }
  // A head stored flat ([1, 384] instead of [1, 384, 1, 1]).
  file = odp::testing::random_lpips(4).file;
  file.tensors["lin2.model.1.weight"] = odp::testing::f32_blob(std::vector<float>(384, 0.5f), {1, 384});
  {
    const TempWeights weights("flat-lin.safetensors", file);
    CHECK_THROWS_WITH(Lpips(weights.path.string()), Contains("lin2.model.1.weight") && Contains("[1, 384]") &&
                                                        Contains("[1, 384, 1, 1]") &&
                                                        Contains(weights.path.string()));
  }
  // VGG's first convolution (3x3) where AlexNet's (11x11) belongs: the file of another LPIPS variant.
  file = odp::testing::random_lpips(4).file;
  file.tensors["net.slice1.0.weight"] =
      odp::testing::f32_blob(std::vector<float>(64 * 3 * 3 * 3, 0.1f), {64, 3, 3, 3});
  {
    const TempWeights weights("vgg.safetensors", file);
    CHECK_THROWS_WITH(Lpips(weights.path.string()),
                      Contains("net.slice1.0.weight") && Contains("[64, 3, 11, 11]"));
  }
  file = odp::testing::random_lpips(4).file;
  odp::model::TensorBlob ints;
  ints.dtype = "I32", ints.shape = {64}, ints.data.resize(64 * 4);
  file.tensors["net.slice1.0.bias"] = ints;
  {
    const TempWeights weights("int.safetensors", file);
    CHECK_THROWS_WITH(Lpips(weights.path.string()), Contains("net.slice1.0.bias") && Contains("I32"));
  }
}

TEST_CASE("an unreadable or malformed LPIPS file is refused with its path") {
  const fs::path none = lpips_temp_path("none.safetensors");
  CHECK_THROWS_AS(Lpips(none.string()), BenchError);
  CHECK_THROWS_WITH(Lpips(none.string()), Contains(none.string()));
  const fs::path junk = lpips_temp_path("junk.safetensors");
  std::ofstream(junk) << "this is not a safetensors file";
  CHECK_THROWS_AS(Lpips(junk.string()), BenchError);
  CHECK_THROWS_WITH(Lpips(junk.string()), Contains(junk.string()));
  fs::remove(junk);
}
