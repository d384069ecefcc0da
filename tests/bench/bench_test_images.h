// Small synthetic images for the benchmark tests (the tests never read files from disk).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>

#include "imageio/image.h"

namespace odp::bench::test {

// pixel(x, y, channel) -> 0..255
inline odp::base::Image make_image(int width, int height, const std::function<int(int, int, int)>& pixel) {
  odp::base::Image image;
  image.width = width;
  image.height = height;
  image.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        image.rgb[(static_cast<size_t>(y) * width + x) * 3 + c] = static_cast<uint8_t>(pixel(x, y, c));
  return image;
}

// A smooth colour pattern with some texture: what codecs handle well but not perfectly.
inline odp::base::Image make_photo_like(int width, int height) {
  return make_image(width, height, [](int x, int y, int c) {
    const double v =
        128 + 60 * std::sin(x * 0.05 + c) * std::cos(y * 0.07 - c) + 30 * std::sin((x + 2 * y) * 0.3);
    return static_cast<int>(std::lround(std::fmin(255, std::fmax(0, v))));
  });
}

inline odp::base::Image make_noise(int width, int height, uint32_t seed) {
  std::mt19937 generator(seed);
  return make_image(width, height, [&](int, int, int) { return static_cast<int>(generator() % 256); });
}

}  // namespace odp::bench::test
