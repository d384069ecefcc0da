// Bicubic resampling: flat stays flat, sizes are right, smooth content survives a round trip.
#include "base/resample.h"

#include <catch2/catch.hpp>

#include "bench/metrics.h"
#include "bench_test_images.h"

using namespace odp::bench;
using odp::base::resize_bicubic;
using odp::base::scaled_size;
using odp::bench::test::make_image;
using odp::bench::test::make_photo_like;

TEST_CASE("a flat image stays flat when shrunk or enlarged") {
  const Image flat = make_image(37, 23, [](int, int, int c) { return 40 + 50 * c; });
  for (auto [w, h] : {std::pair{5, 3}, std::pair{80, 61}, std::pair{1, 1}}) {
    const Image out = resize_bicubic(flat, w, h);
    REQUIRE(out.width == w);
    REQUIRE(out.height == h);
    for (size_t i = 0; i < out.rgb.size(); ++i) REQUIRE(out.rgb[i] == 40 + 50 * (i % 3));
  }
}

TEST_CASE("resizing to the same size returns the image unchanged") {
  const Image a = make_photo_like(20, 10);
  CHECK(resize_bicubic(a, 20, 10).rgb == a.rgb);
}

TEST_CASE("a smooth image survives halving and doubling") {
  const Image smooth = make_image(128, 96, [](int x, int y, int c) { return 60 + x / 2 + y / 3 + 10 * c; });
  const Image back = resize_bicubic(resize_bicubic(smooth, 64, 48), 128, 96);
  CHECK(psnr_rgb(smooth, back) > 40);
  const Image textured = make_photo_like(128, 96);
  CHECK(psnr_rgb(textured, resize_bicubic(resize_bicubic(textured, 16, 12), 128, 96)) < 30);
}

TEST_CASE("bad sizes are refused") {
  const Image a = make_photo_like(8, 8);
  CHECK_THROWS_AS(resize_bicubic(a, 0, 8), odp::base::Error);
  CHECK_THROWS_AS(resize_bicubic(Image{}, 4, 4), odp::base::Error);
}

TEST_CASE("scaled_size rounds and never reaches zero") {
  int w = 0, h = 0;
  scaled_size(256, 256, 3, &w, &h);
  CHECK(w == 85);
  CHECK(h == 85);
  scaled_size(5, 2, 8, &w, &h);
  CHECK(w == 1);
  CHECK(h == 1);
}
