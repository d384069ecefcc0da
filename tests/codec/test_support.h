// Test helpers for codec/ and cli/: synthetic images and a fast, predictable stand-in for the model.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "base/image.h"
#include "model/tile_model.h"

namespace odp::test {

// A photo-like RGB image: smooth gradients, a disc and fine stripes in the lower right (busy region).
inline base::Image synthetic_image(int width, int height) {
  base::Image image;
  image.width = width;
  image.height = height;
  image.rgb.resize(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* pixel = &image.rgb[(static_cast<size_t>(y) * width + x) * 3];
      const bool disc = std::hypot(x - width / 3.0, y - height / 3.0) < std::min(width, height) / 5.0;
      const bool stripes = x > width / 2 && y > height / 2 && ((x / 2 + y / 3) % 2 == 0);
      pixel[0] = static_cast<uint8_t>(disc ? 220 : 40 + 150 * x / std::max(1, width - 1));
      pixel[1] = static_cast<uint8_t>(stripes ? 240 : 60 + 120 * y / std::max(1, height - 1));
      pixel[2] = static_cast<uint8_t>(disc ? 30 : 128);
    }
  return image;
}

// Stands in for the network: token i of a tile is the mean gray of block i in a 4x4 grid of blocks,
// quantised to 16 levels; decoding fills unknown blocks with the mean of the known ones. Quality therefore
// rises with the number of tokens, and flat tiles reach a PSNR target with fewer tokens than busy ones.
class FakeTileModel : public model::TileModel {
 public:
  explicit FakeTileModel(uint32_t model_id = 0x1234abcd, int tile_size = 32) {
    info_.config.tile_size = tile_size;
    info_.config.patch_size = 8;
    info_.config.num_tokens = 16;
    info_.config.fsq_levels = {4, 4};
    info_.config.head_channels = {16, 8, 8};
    info_.model_id = model_id;
  }
  const model::ModelInfo& info() const override { return info_; }
  model::ModelInfo& mutable_info() { return info_; }
  model::Device device() const override { return model::Device::kCpu; }
  int preferred_batch() const override { return 3; }

  std::vector<uint16_t> encode(const float* tiles, int n) override {
    const int t = info_.config.tile_size, block = t / 4;
    std::vector<uint16_t> tokens(static_cast<size_t>(n) * 16);
    for (int i = 0; i < n; ++i)
      for (int b = 0; b < 16; ++b) {
        double sum = 0;
        for (int c = 0; c < 3; ++c)
          for (int y = 0; y < block; ++y)
            for (int x = 0; x < block; ++x)
              sum += tiles[((static_cast<size_t>(i) * 3 + c) * t + (b / 4) * block + y) * t +
                           (b % 4) * block + x];
        tokens[i * 16 + b] =
            static_cast<uint16_t>(std::min(15.0, std::floor(sum / (3.0 * block * block) * 16)));
      }
    return tokens;
  }

  void decode(const uint16_t* tokens, const int* keep, int n, float* out) override {
    const int t = info_.config.tile_size, block = t / 4;
    for (int i = 0; i < n; ++i) {
      double known = 0;
      for (int b = 0; b < keep[i]; ++b) known += (tokens[i * 16 + b] + 0.5) / 16;
      const float fill = keep[i] > 0 ? static_cast<float>(known / keep[i]) : 0.5f;
      for (int b = 0; b < 16; ++b) {
        const float value = b < keep[i] ? (tokens[i * 16 + b] + 0.5f) / 16 : fill;
        for (int c = 0; c < 3; ++c)
          for (int y = 0; y < block; ++y)
            for (int x = 0; x < block; ++x)
              out[((static_cast<size_t>(i) * 3 + c) * t + (b / 4) * block + y) * t + (b % 4) * block + x] =
                  value;
      }
    }
  }

 private:
  model::ModelInfo info_;
};

// Drives another model through its float entry points only: its encode_bytes / decode_bytes are TileModel's
// host-side defaults, i.e. exactly what the codec computed before it passed bytes. The codec's results with a
// model and with this wrapper around it must be the same.
class FloatPathModel : public model::TileModel {
 public:
  explicit FloatPathModel(model::TileModel& inner) : inner_(inner) {}
  const model::ModelInfo& info() const override { return inner_.info(); }
  model::Device device() const override { return inner_.device(); }
  int preferred_batch() const override { return inner_.preferred_batch(); }
  std::vector<uint16_t> encode(const float* tiles, int n) override { return inner_.encode(tiles, n); }
  void decode(const uint16_t* tokens, const int* keep, int n, float* out) override {
    inner_.decode(tokens, keep, n, out);
  }

 private:
  model::TileModel& inner_;
};

// Uniform-looking per-position frequency tables for a model with `positions` tokens and 16 codes.
inline std::vector<uint16_t> flat_frequencies(int positions, int codes) {
  std::vector<uint16_t> frequencies(static_cast<size_t>(positions) * codes,
                                    static_cast<uint16_t>(65536 / codes));
  return frequencies;
}

}  // namespace odp::test
