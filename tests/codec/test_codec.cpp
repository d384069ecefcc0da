// Encode/decode through the codec API with a fake model (rate control, truncation, refusals) and a tiny real
// one.
#include <c10/util/Exception.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <utility>

#include "codec/odp.h"
#include "codec/tiling.h"
#include "format/odp_format.h"
#include "test_support.h"
#include "tests/tiny_model_config.h"

using namespace odp::codec;
using odp::test::FakeTileModel;
using odp::test::synthetic_image;

namespace {

EncodeOptions rate(RateControl control) {
  EncodeOptions options;
  options.rate = control;
  options.tile_overlap = 0;  // the rate-control tests count tiles on the plain grid
  return options;
}

// A fake model that remembers its GPU encode precision (a CPU model ignores it) and the one each encode ran
// at.
class PrecisionRecordingModel : public FakeTileModel {
 public:
  void set_gpu_encode_precision(GpuPrecision precision) override { precision_ = precision; }
  GpuPrecision gpu_encode_precision() const override { return precision_; }
  std::vector<uint16_t> encode(const float* tiles, int n) override {
    encoded_at.push_back(precision_);
    return FakeTileModel::encode(tiles, n);
  }
  std::vector<GpuPrecision> encoded_at;

 private:
  GpuPrecision precision_ = GpuPrecision::kTf32;
};

}  // namespace

TEST_CASE("the GPU precision is parsed by name, used for one encode and given back", "[codec]") {
  CHECK(parse_gpu_precision("tf32") == GpuPrecision::kTf32);
  CHECK(parse_gpu_precision("bf16") == GpuPrecision::kBf16);
  CHECK(parse_gpu_precision("fp32") == GpuPrecision::kFp32);
  try {
    parse_gpu_precision("int8");
    FAIL("int8 was accepted");
  } catch (const CodecError& error) {
    CHECK(error.kind() == ErrorKind::kUsage);
    CHECK_THAT(error.what(), Catch::Contains("'int8'") && Catch::Contains("bf16, tf32 or fp32"));
  }
  PrecisionRecordingModel model;
  model.set_gpu_encode_precision(GpuPrecision::kFp32);
  EncodeOptions options = rate(RateControl::kTokens);
  options.tokens = 4;
  options.gpu_precision = GpuPrecision::kBf16;
  encode(synthetic_image(64, 64), model, options);
  REQUIRE_FALSE(model.encoded_at.empty());
  CHECK(model.encoded_at == std::vector<GpuPrecision>(model.encoded_at.size(), GpuPrecision::kBf16));
  CHECK(model.gpu_encode_precision() == GpuPrecision::kFp32);
}

TEST_CASE("psnr", "[codec]") {
  const Image a = synthetic_image(10, 10);
  Image b = a;
  CHECK(std::isinf(psnr(a, b)));
  b.rgb[0] = static_cast<uint8_t>(b.rgb[0] ^ 1);
  CHECK(psnr(a, b) == Approx(10 * std::log10(255.0 * 255.0 * 300)));
  CHECK_THROWS_AS(psnr(a, synthetic_image(10, 11)), CodecError);
}

TEST_CASE("quality maps onto tokens as documented", "[codec]") {
  CHECK(tokens_for_quality(0) == 1);
  CHECK(tokens_for_quality(25) == 4);
  CHECK(tokens_for_quality(50) == 16);
  CHECK(tokens_for_quality(75) == 64);
  CHECK(tokens_for_quality(100) == 256);
  CHECK_THROWS_AS(tokens_for_quality(101), CodecError);
  CHECK_THROWS_AS(tokens_for_quality(-1), CodecError);
}

TEST_CASE("any size round-trips to the same size; more tokens, better picture", "[codec]") {
  FakeTileModel model;
  for (auto [width, height] : {std::pair{1, 1}, {33, 70}, {100, 64}, {5, 200}}) {
    const Image image = synthetic_image(width, height);
    EncodeOptions options = rate(RateControl::kTokens);
    options.tokens = 16;
    const EncodeResult encoded = encode(image, model, options);
    const Image back = decode(encoded.bytes.data(), encoded.bytes.size(), model);
    CHECK(back.width == width);
    CHECK(back.height == height);
    CHECK(encoded.stats.mean_tokens == (width * height == 1 ? 1 : 16));  // 1x1: a flat tile (spec 5.4)
  }
  const Image image = synthetic_image(100, 64);
  const EncodeResult full = encode(image, model, rate(RateControl::kTokens));
  DecodeOptions few;
  few.max_tokens = 2;
  const Image coarse = decode(full.bytes.data(), full.bytes.size(), model, few);
  const Image fine = decode(full.bytes.data(), full.bytes.size(), model);
  CHECK(psnr(image, fine) > psnr(image, coarse));
  EncodeOptions overlapped = rate(RateControl::kTokens);
  overlapped.tile_overlap = 8;
  const EncodeResult with_overlap = encode(image, model, overlapped);
  CHECK(inspect(with_overlap.bytes.data(), with_overlap.bytes.size()).tile_overlap == 8);
  CHECK(decode(with_overlap.bytes.data(), with_overlap.bytes.size(), model).width == 100);
}

TEST_CASE("by default tiles overlap only where it costs no tile, and the file records it", "[codec]") {
  FakeTileModel model;  // 32-px tiles
  // 100x50 needs 4x2 tiles at overlap 0, with 28 and 14 pixels of padding: up to 9 of overlap keeps 4x2.
  const Image image = synthetic_image(100, 50);
  EncodeOptions options;
  options.tokens = 16;
  const EncodeResult encoded = encode(image, model, options);
  FileInfo info = inspect(encoded.bytes.data(), encoded.bytes.size());
  CHECK(info.tile_overlap == 9);
  CHECK(info.tiles_x * info.tiles_y == 8);
  const Image back = decode(encoded.bytes.data(), encoded.bytes.size(), model);
  CHECK(back.width == 100);
  CHECK(back.height == 50);
  // An image that fills its tiles exactly gets no overlap (the old default's 16 needed 6x4 tiles, not 4x2).
  const EncodeResult exact = encode(synthetic_image(128, 64), model, options);
  info = inspect(exact.bytes.data(), exact.bytes.size());
  CHECK(info.tile_overlap == 0);
  CHECK(info.tiles_x * info.tiles_y == 8);
  options.tile_overlap = 17;  // more than tile / 2: valid per spec (three tiles share pixels)
  const std::vector<uint8_t> wide = encode(image, model, options).bytes;
  CHECK(inspect(wide.data(), wide.size()).tile_overlap == 17);
  options.tile_overlap = 32;  // the tile itself: no grid
  CHECK_THROWS_AS(encode(image, model, options), CodecError);
}

TEST_CASE("quality and tokens set the tokens per tile", "[codec]") {
  FakeTileModel model;
  const Image image = synthetic_image(64, 64);
  EncodeOptions options = rate(RateControl::kQuality);
  options.quality = 25;
  EncodeResult encoded = encode(image, model, options);
  FileInfo info = inspect(encoded.bytes.data(), encoded.bytes.size());
  CHECK(info.tokens_per_tile == std::vector<uint16_t>(4, 4));
  options = rate(RateControl::kTokens);
  options.tokens = 300;
  CHECK_THROWS_WITH(encode(image, model, options), Catch::Contains("1..256"));
}

TEST_CASE("--size always fits or names the smallest possible size", "[codec]") {
  FakeTileModel model;
  for (auto [width, height] : {std::pair{64, 64}, {150, 90}, {1, 1}}) {
    const Image image = synthetic_image(width, height);
    const EncodeResult full = encode(image, model, rate(RateControl::kTokens));
    for (uint64_t budget = 1; budget <= full.bytes.size() + 10; budget += 1 + budget / 7) {
      EncodeOptions options = rate(RateControl::kSize);
      options.max_bytes = budget;
      try {
        const EncodeResult fitted = encode(image, model, options);
        CHECK(fitted.bytes.size() <= budget);
        CHECK(decode(fitted.bytes.data(), fitted.bytes.size(), model).width == width);
      } catch (const CodecError& error) {
        CHECK(std::string(error.what()).find("smallest file") != std::string::npos);
        TruncateOptions one;
        one.tokens = 1;
        CHECK(truncate(full.bytes.data(), full.bytes.size(), one).size() > budget);
      }
    }
  }
}

TEST_CASE("target PSNR: per tile the shortest prefix reaching it; flat tiles spend fewer", "[codec]") {
  FakeTileModel model;
  // Left half flat gray, right half the busy synthetic picture.
  Image image = synthetic_image(64, 32);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) image.rgb[(y * 64 + x) * 3 + c] = 120;
  EncodeOptions options = rate(RateControl::kTargetPsnr);
  options.allocation = EncodeOptions::Allocation::kPerTileTarget;
  options.target_psnr = 30;
  const EncodeResult encoded = encode(image, model, options);
  const FileInfo info = inspect(encoded.bytes.data(), encoded.bytes.size());
  REQUIRE(info.tokens_per_tile.size() == 2);
  CHECK(info.tokens_per_tile[0] < info.tokens_per_tile[1]);
  CHECK(info.tokens_per_tile[0] == 1);  // one token already describes a flat tile
  const Image back = decode(encoded.bytes.data(), encoded.bytes.size(), model);
  // The flat half reaches the target.
  Image left = image, left_back = back;
  left.rgb.resize(0);
  left_back.rgb.resize(0);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32 * 3; ++x) {
      left.rgb.push_back(image.rgb[y * 64 * 3 + x]);
      left_back.rgb.push_back(back.rgb[y * 64 * 3 + x]);
    }
  CHECK(psnr(left, left_back) >= 30);
}

TEST_CASE("target PSNR out of reach: a tile stops where more tokens stop helping", "[codec]") {
  FakeTileModel model;
  // Blocks 0..3 (tokens 2, 6, 10, 14) carry the detail; blocks 4..15 equal the fake decoder's fill value
  // after 4 tokens, so tokens 5..16 add nothing and the search must stop at 4 instead of taking all 16.
  Image image = synthetic_image(32, 32);
  const uint8_t first_blocks[4] = {40, 104, 167, 231};
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const int block = (y / 8) * 4 + x / 8;
      for (int c = 0; c < 3; ++c) image.rgb[(y * 32 + x) * 3 + c] = block < 4 ? first_blocks[block] : 135;
    }
  EncodeOptions options = rate(RateControl::kTargetPsnr);
  options.allocation = EncodeOptions::Allocation::kPerTileTarget;
  options.target_psnr = 150;
  const EncodeResult encoded = encode(image, model, options);
  const FileInfo info = inspect(encoded.bytes.data(), encoded.bytes.size());
  REQUIRE(info.tokens_per_tile.size() == 1);
  CHECK(info.tokens_per_tile[0] == 4);
}

TEST_CASE("metadata survives, a file from another model is refused naming both ids", "[codec]") {
  FakeTileModel model(0x11111111), other(0x22222222);
  Image image = synthetic_image(40, 40);
  image.icc = {1, 2, 3};
  image.exif = {'I', 'I', 42, 0};
  const EncodeResult encoded = encode(image, model, rate(RateControl::kTokens));
  const Image back = decode(encoded.bytes.data(), encoded.bytes.size(), model);
  CHECK(back.icc == image.icc);
  CHECK(back.exif == image.exif);
  const FileInfo info = inspect(encoded.bytes.data(), encoded.bytes.size());
  CHECK(info.metadata_tags == std::vector<std::string>{"ICCP", "EXIF"});
  CHECK(info.model_id == 0x1111);  // format version 2 keeps the low 16 bits of the id
  CHECK(info.model_id_bits == 16);
  try {
    decode(encoded.bytes.data(), encoded.bytes.size(), other);
    FAIL("decoded a file from another model");
  } catch (const CodecError& error) {
    CHECK(error.kind() == ErrorKind::kModel);
    CHECK_THAT(error.what(), Catch::Contains("....1111") && Catch::Contains("22222222"));
  }
}

TEST_CASE("truncation by tokens, quality and bytes; corrupt files refused", "[codec]") {
  FakeTileModel model;
  const Image image = synthetic_image(90, 70);
  const EncodeResult full = encode(image, model, rate(RateControl::kTokens));
  TruncateOptions options;
  options.tokens = 3;
  std::vector<uint8_t> cut = truncate(full.bytes.data(), full.bytes.size(), options);
  CHECK(inspect(cut.data(), cut.size()).tokens_per_tile == std::vector<uint16_t>(9, 3));
  options = {};
  options.quality = 50;
  cut = truncate(full.bytes.data(), full.bytes.size(), options);
  CHECK(inspect(cut.data(), cut.size()).tokens_per_tile == std::vector<uint16_t>(9, 16));
  options = {};
  options.max_bytes = full.bytes.size() / 2;
  cut = truncate(full.bytes.data(), full.bytes.size(), options);
  CHECK(cut.size() <= full.bytes.size() / 2);
  CHECK(decode(cut.data(), cut.size(), model).height == 70);
  CHECK_THROWS_AS(truncate(full.bytes.data(), full.bytes.size(), TruncateOptions{}), CodecError);

  std::vector<uint8_t> corrupt = full.bytes;
  corrupt[corrupt.size() / 2] ^= 0x55;
  corrupt[10] ^= 0x55;
  try {
    decode(corrupt.data(), corrupt.size(), model);
  } catch (const CodecError& error) {
    CHECK(error.kind() != ErrorKind::kIo);
  }
  const std::vector<uint8_t> garbage = {'h', 'e', 'l', 'l', 'o'};
  CHECK_THROWS_WITH(decode(garbage.data(), garbage.size(), model), Catch::Contains("not a valid .odp"));
  // Cut short: decodes what survived (or refuses), never crashes.
  for (size_t keep = 0; keep < full.bytes.size(); keep += 7) {
    try {
      decode(full.bytes.data(), keep, model);
    } catch (const CodecError&) {
    }
  }
}

TEST_CASE("position tables: encoded with them, truncation needs the model's info", "[codec]") {
  FakeTileModel model;
  model.mutable_info().token_frequencies = odp::test::flat_frequencies(16, 16);
  const Image image = synthetic_image(50, 40);
  const EncodeResult encoded = encode(image, model, rate(RateControl::kTokens));
  CHECK(inspect(encoded.bytes.data(), encoded.bytes.size()).position_tables);
  CHECK(decode(encoded.bytes.data(), encoded.bytes.size(), model).width == 50);
  TruncateOptions options;
  options.max_bytes = encoded.bytes.size() - 3;
  CHECK_THROWS_WITH(truncate(encoded.bytes.data(), encoded.bytes.size(), options), Catch::Contains("model"));
  const std::vector<uint8_t> cut =
      truncate(encoded.bytes.data(), encoded.bytes.size(), options, &model.info());
  CHECK(cut.size() <= encoded.bytes.size() - 3);
}

TEST_CASE("a tiny random model runs end to end in batches", "[codec][model]") {
  const odp::model::ModelConfig config = odp::testing::tiny_model_config();
  auto model = odp::model::TileModel::random(config, 7, odp::model::Device::kCpu);
  const Image image = synthetic_image(70, 40);
  EncodeOptions options = rate(RateControl::kTargetPsnr);
  options.allocation = EncodeOptions::Allocation::kPerTileTarget;
  options.target_psnr = 10;
  const EncodeResult encoded = encode(image, *model, options);
  const Image back = decode(encoded.bytes.data(), encoded.bytes.size(), *model);
  CHECK(back.width == 70);
  CHECK(back.height == 40);
}

TEST_CASE("a file that is no model is refused as a model problem", "[codec]") {
  CHECK_THROWS_AS(load_model("/etc/hostname", "cpu"), CodecError);
}

namespace {
// A model whose every run fails as LibTorch fails (c10::Error), claiming to run on `device`.
class FailingModel : public odp::test::FakeTileModel {
 public:
  explicit FailingModel(odp::model::Device device) : device_(device) {}
  odp::model::Device device() const override { return device_; }
  std::vector<uint16_t> encode(const float*, int) override { TORCH_CHECK(false, "a LibTorch failure"); }
  void decode(const uint16_t*, const int*, int, float*) override { TORCH_CHECK(false, "a LibTorch failure"); }

 private:
  odp::model::Device device_;
};
}  // namespace

TEST_CASE("whatever the model throws leaves the codec as CodecError: kModel on the CPU, kDevice on the GPU",
          "[codec]") {
  const Image image = odp::test::synthetic_image(40, 40);
  for (const auto& [device, kind] : {std::pair{odp::model::Device::kCpu, ErrorKind::kModel},
                                     std::pair{odp::model::Device::kCuda, ErrorKind::kDevice}}) {
    FailingModel model(device);
    try {
      encode(image, model);
      FAIL("encode must fail");
    } catch (const CodecError& error) {
      CHECK(error.kind() == kind);
      CHECK_THAT(error.what(), Catch::Contains("a LibTorch failure"));
      CHECK(std::string(error.what()).find('\n') == std::string::npos);
    }
  }
  odp::test::FakeTileModel good;
  const EncodeResult encoded = encode(image, good);
  FailingModel failing(odp::model::Device::kCpu);
  CHECK_THROWS_AS(decode(encoded.bytes.data(), encoded.bytes.size(), failing), CodecError);
}

TEST_CASE("format version 1 files still decode and truncate in version 1; grey inputs decode grey",
          "[codec]") {
  FakeTileModel model(0x11111111);
  const Image image = synthetic_image(50, 40);
  const EncodeResult encoded = encode(image, model, rate(RateControl::kTokens));
  CHECK(inspect(encoded.bytes.data(), encoded.bytes.size()).format_version == 2);
  odp::format::TokenFile file = odp::format::read(encoded.bytes.data(), encoded.bytes.size());
  file.header.version = 1;
  file.header.model_id = 0x11111111;  // the whole id again, as version 1 stores it
  file.header.model_id_bits = 32;
  const std::vector<uint8_t> v1 = odp::format::write(file);
  CHECK(inspect(v1.data(), v1.size()).format_version == 1);
  const Image from_v1 = decode(v1.data(), v1.size(), model),
              from_v2 = decode(encoded.bytes.data(), encoded.bytes.size(), model);
  CHECK(from_v1.rgb == from_v2.rgb);
  TruncateOptions options;
  options.tokens = 2;
  const std::vector<uint8_t> cut = truncate(v1.data(), v1.size(), options);
  CHECK(inspect(cut.data(), cut.size()).format_version == 1);
  CHECK(inspect(cut.data(), cut.size()).tokens_per_tile == std::vector<uint16_t>(file.tile_tokens.size(), 2));
  FakeTileModel other(0x22221111);  // the same low 16 bits: version 1 still tells them apart
  CHECK_THROWS_WITH(decode(v1.data(), v1.size(), other), Catch::Contains("11111111"));

  Image grey = synthetic_image(40, 40);
  for (size_t i = 0; i < grey.rgb.size(); i += 3) grey.rgb[i + 1] = grey.rgb[i + 2] = grey.rgb[i];
  const EncodeResult grey_file = encode(grey, model, rate(RateControl::kTokens));
  const Image grey_back = decode(grey_file.bytes.data(), grey_file.bytes.size(), model);
  for (size_t i = 0; i < grey_back.rgb.size(); i += 3) {
    CHECK(grey_back.rgb[i] == grey_back.rgb[i + 1]);
    CHECK(grey_back.rgb[i] == grey_back.rgb[i + 2]);
  }
}

TEST_CASE("flat tiles are stored as their colour with one token and decode to it exactly", "[codec]") {
  FakeTileModel model;
  Image image = synthetic_image(100, 64);
  // The left 40 columns one colour within the 2-level tolerance: with 32-pixel tiles and no overlap, the
  // first tile column is flat.
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < 40; ++x)
      for (int c = 0; c < 3; ++c)
        image.rgb[(y * 100 + x) * 3 + c] = static_cast<uint8_t>(c == 0 ? 250 : 3 + (x + y) % 3);
  EncodeOptions options = rate(RateControl::kTokens);
  options.tokens = 16;
  options.tile_overlap = 0;
  const EncodeResult encoded = encode(image, model, options);
  const FileInfo info = inspect(encoded.bytes.data(), encoded.bytes.size());
  const int t = static_cast<int>(info.tile_size);
  REQUIRE(info.flat_tiles == info.tiles_y * static_cast<uint32_t>(40 / t));
  for (uint32_t i = 0; i < info.tokens_per_tile.size(); ++i)
    CHECK(info.tokens_per_tile[i] == (static_cast<int>(i % info.tiles_x) < 40 / t ? 1 : 16));
  const Image back = decode(encoded.bytes.data(), encoded.bytes.size(), model);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < 40 / t * t; ++x) {
      CHECK(back.rgb[(y * 100 + x) * 3] == 250);
      CHECK(back.rgb[(y * 100 + x) * 3 + 1] == 4);  // the rounded mean of 3, 4, 5
    }
  // A busy image has none.
  const Image busy = synthetic_image(100, 64);
  const EncodeResult busy_file = encode(busy, model, options);
  CHECK(inspect(busy_file.bytes.data(), busy_file.bytes.size()).flat_tiles == 0);
}
