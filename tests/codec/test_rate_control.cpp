// Rate control over resolution: coded sizes (--scale), kSize's search over scale and overlap, tokens by area.
#include <catch2/catch.hpp>
#include <tuple>

#include "base/fingerprint.h"
#include "codec/odp.h"
#include "codec/rate_control.h"
#include "format/odp_format.h"
#include "format/wire.h"
#include "test_support.h"

using namespace odp::codec;
using odp::test::FakeTileModel;
using odp::test::synthetic_image;

TEST_CASE("a file coded at scale 1/2 records the coded size and decodes to the original size", "[codec]") {
  FakeTileModel model;  // 32-pixel tiles
  const Image image = synthetic_image(100, 64);
  EncodeOptions options;
  options.rate = RateControl::kTokens;
  options.tokens = 16;
  options.tile_overlap = 0;
  options.scale = 0.5;
  const EncodeResult encoded = encode(image, model, options);
  CHECK(encoded.stats.coded_width == 50);
  CHECK(encoded.stats.coded_height == 32);
  CHECK(encoded.stats.tiles == 2);  // the grid lies over 50x32, not 100x64 (8 tiles)
  const FileInfo info = inspect(encoded.bytes.data(), encoded.bytes.size());
  CHECK(info.width == 100);
  CHECK(info.height == 64);
  CHECK(info.coded_width == 50);
  CHECK(info.coded_height == 32);
  CHECK(info.tiles_x * info.tiles_y == 2);
  const Image back = decode(encoded.bytes.data(), encoded.bytes.size(), model);
  REQUIRE(back.width == 100);
  REQUIRE(back.height == 64);
  // Fewer tiles, fewer bytes; the upsampled picture is still the picture (the fake model's blocks are
  // coarse, so compare with what the same model gives at full size).
  options.scale = 1;
  const EncodeResult full = encode(image, model, options);
  CHECK(encoded.bytes.size() < full.bytes.size());
  const double full_psnr = psnr(image, decode(full.bytes.data(), full.bytes.size(), model));
  CHECK(psnr(image, back) > full_psnr - 6);
  // Truncation keeps the coded size: it cuts tokens, never the scale.
  TruncateOptions cut;
  cut.tokens = 2;
  const std::vector<uint8_t> shorter = truncate(encoded.bytes.data(), encoded.bytes.size(), cut);
  CHECK(inspect(shorter.data(), shorter.size()).coded_width == 50);
  CHECK(decode(shorter.data(), shorter.size(), model).width == 100);
}

TEST_CASE("scale 1 records no coded size; a scale outside (0, 1] is refused", "[codec]") {
  FakeTileModel model;
  const Image image = synthetic_image(40, 40);
  EncodeOptions options;
  options.rate = RateControl::kTokens;
  options.scale = 1;
  const EncodeResult encoded = encode(image, model, options);
  const odp::format::Summary summary = odp::format::summarize(encoded.bytes.data(), encoded.bytes.size());
  CHECK(summary.header.coded_width == 0);
  for (double bad : {-0.5, 1.5, 2.0}) {
    options.scale = bad;
    try {
      encode(image, model, options);
      FAIL("scale " << bad << " was accepted");
    } catch (const CodecError& error) {
      CHECK(error.kind() == ErrorKind::kUsage);
      CHECK(std::string(error.what()).find("scale") != std::string::npos);
    }
  }
  options.scale = 0.001;  // rounds to 1x1: still a valid file
  const EncodeResult tiny = encode(image, model, options);
  CHECK(inspect(tiny.bytes.data(), tiny.bytes.size()).coded_width == 1);
  CHECK(decode(tiny.bytes.data(), tiny.bytes.size(), model).width == 40);
}

TEST_CASE("--size searches the scale: a budget too small for the full size fits downscaled", "[codec]") {
  FakeTileModel model;
  const Image image = synthetic_image(150, 90);  // 5x3 tiles at overlap 0 and scale 1
  EncodeOptions forced;
  forced.rate = RateControl::kTokens;
  forced.tokens = 1;
  forced.tile_overlap = 0;
  forced.scale = 1;
  const uint64_t smallest_full = encode(image, model, forced).bytes.size();
  EncodeOptions options;
  options.rate = RateControl::kSize;
  options.max_bytes = smallest_full - 1;
  options.tile_overlap = 0;
  const EncodeResult fitted = encode(image, model, options);
  CHECK(fitted.bytes.size() <= options.max_bytes);
  CHECK(fitted.stats.coded_width < 150);
  CHECK(fitted.stats.candidates > 1);
  CHECK(decode(fitted.bytes.data(), fitted.bytes.size(), model).width == 150);
  // With a forced scale of 1 the same budget is impossible, and the message names the smallest size.
  options.scale = 1;
  CHECK_THROWS_WITH(encode(image, model, options), Catch::Contains("smallest file"));
  // A budget that every token fits: the full size, and no smaller copy is tried.
  options.scale = kAutoScale;
  options.max_bytes = 1 << 20;
  const EncodeResult roomy = encode(image, model, options);
  CHECK(roomy.stats.coded_width == 150);
  CHECK(roomy.stats.mean_tokens == 16);
  CHECK(roomy.stats.candidates == 1);
}

TEST_CASE("--size keeps the candidate of the best PSNR among scales and overlaps", "[codec]") {
  FakeTileModel model;
  const Image image = synthetic_image(150, 90);
  for (uint64_t budget : {40u, 80u, 160u, 400u}) {
    EncodeOptions options;
    options.rate = RateControl::kSize;
    options.max_bytes = budget;
    const EncodeResult searched = encode(image, model, options);
    REQUIRE(searched.bytes.size() <= budget);
    const double searched_psnr = psnr(image, decode(searched.bytes.data(), searched.bytes.size(), model));
    // No forced scale (with the default overlap) that fits does better.
    for (double scale : {1.0, 0.5, 1 / 3.0}) {
      options.scale = scale;
      try {
        const EncodeResult one = encode(image, model, options);
        CHECK(psnr(image, decode(one.bytes.data(), one.bytes.size(), model)) <= searched_psnr + 1e-9);
      } catch (const CodecError& error) {
        CHECK(error.kind() == ErrorKind::kUsage);  // does not fit at that scale
      }
    }
  }
}

TEST_CASE("--size also weighs the copies stretched to whole tiles, and keeps one where it is best",
          "[codec]") {
  FakeTileModel model;                           // 32-pixel tiles
  const Image image = synthetic_image(150, 90);  // at 1/3: 50x30 in 2x1 tiles; at 1/2: 75x45 in 3x2
  int stretched_kept = 0;
  for (uint64_t budget : {24u, 32u, 40u, 60u, 80u, 160u}) {
    EncodeOptions options;
    options.rate = RateControl::kSize;
    options.max_bytes = budget;
    const EncodeResult searched = encode(image, model, options);
    const double searched_psnr = psnr(image, decode(searched.bytes.data(), searched.bytes.size(), model));
    options.tile_overlap = 0;
    for (const auto& [width, height] : {std::pair{64, 32}, std::pair{96, 64}}) {
      try {
        const EncodeResult stretched = detail::encode_at(image, width, height, model, options);
        CHECK(psnr(image, decode(stretched.bytes.data(), stretched.bytes.size(), model)) <=
              searched_psnr + 1e-9);
      } catch (const CodecError& error) {
        CHECK(error.kind() == ErrorKind::kUsage);  // does not fit
      }
    }
    const odp::format::Summary summary = odp::format::summarize(searched.bytes.data(), searched.bytes.size());
    const bool whole_tiles = summary.header.grid_width() % 32 == 0 && summary.header.grid_height() % 32 == 0;
    stretched_kept += whole_tiles && summary.header.grid_width() != 150;
  }
  CHECK(stretched_kept > 0);  // the stretched copy wins somewhere on this image
}

TEST_CASE("--size's search picks the same file as the direct path, and as before its speed work", "[codec]") {
  FakeTileModel model;
  Image grey = synthetic_image(150, 90);  // also through finish_decode's grey step
  for (size_t i = 0; i < grey.rgb.size(); i += 3) grey.rgb[i + 1] = grey.rgb[i + 2] = grey.rgb[i];
  const Image images[] = {synthetic_image(150, 90), grey};
  // Fingerprints of the chosen files before the search shared coded copies and split decode() (commit
  // 9911729): a change to the search's plumbing must not move them.
  const std::vector<std::tuple<int, uint64_t, uint64_t>> golden = {
      {0, 24, 9642805747736263849ull},   {0, 40, 9931322466852923376ull},   {0, 80, 3223327957326164234ull},
      {0, 160, 10313480760965295623ull}, {0, 400, 10313480760965295623ull}, {1, 40, 8212125590104845910ull},
      {1, 160, 10464363407755956566ull}};
  for (const auto& [which, budget, expected] : golden) {
    const Image& image = images[which];
    EncodeOptions options;
    options.rate = RateControl::kSize;
    options.max_bytes = budget;
    detail::SizeSearchTimes times;
    const EncodeResult searched = detail::encode_within_size(image, model, options, &times);
    INFO("image " << which << " budget " << budget << " fingerprint "
                  << odp::base::fingerprint(searched.bytes));
    CHECK(odp::base::fingerprint(searched.bytes) == expected);
    CHECK(times.candidates == searched.stats.candidates);
    CHECK(times.encode > 0);
    // The winner coded on its own, through encode_at's resampling, gives the same bytes.
    options.tile_overlap = searched.stats.tile_overlap;
    const EncodeResult direct =
        detail::encode_at(image, searched.stats.coded_width, searched.stats.coded_height, model, options);
    CHECK(direct.bytes == searched.bytes);
  }
}

TEST_CASE("an image smaller than a tile gets tokens in proportion to its area", "[codec]") {
  CHECK(tokens_for_area(64, 256, 256, 256) == 64);
  CHECK(tokens_for_area(64, 128, 128, 256) == 16);
  CHECK(tokens_for_area(64, 64, 64, 256) == 4);
  CHECK(tokens_for_area(64, 1, 1, 256) == 1);
  CHECK(tokens_for_area(64, 300, 10, 256) == 64);  // more than one tile wide: a tile's worth per tile
  FakeTileModel model;                             // 32-pixel tiles, 16 tokens
  EncodeOptions options;
  options.rate = RateControl::kTokens;
  options.tokens = 16;
  options.tokens_by_area = true;
  const EncodeResult small = encode(synthetic_image(16, 16), model, options);
  CHECK(small.stats.mean_tokens == 4);
  options.tokens_by_area = false;
  CHECK(encode(synthetic_image(16, 16), model, options).stats.mean_tokens == 16);
}

TEST_CASE("target PSNR at equal slope: the image reaches it in no more bytes than one count for all",
          "[codec]") {
  FakeTileModel model;  // 32-pixel tiles, 16 tokens of 4 bits
  // Four tiles: two flat, two busy; the flat ones are described by one token.
  Image image = synthetic_image(64, 64);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x)
      if ((x < 32) != (y < 32))
        for (int c = 0; c < 3; ++c) image.rgb[(y * 64 + x) * 3 + c] = 120;
  DecodeOptions exact;  // no seam filters: the image's PSNR is the tiles' squared errors added
  exact.seam_cast_radius = 0;
  exact.seam_filter_radius = 0;
  EncodeOptions fixed;
  fixed.rate = RateControl::kTokens;
  fixed.tile_overlap = 0;
  bool unequal_and_smaller = false;
  // The fake model spans 16.5 (1 token) to 17.27 dB (16): targets below that minus kAdaptiveSlackDb.
  for (double target : {16.8, 16.9, 17.0}) {
    EncodeOptions options;
    options.rate = RateControl::kTargetPsnr;
    options.target_psnr = target;
    options.tile_overlap = 0;
    // The allocation on one size, before the measured PSNR corrects it (the correction and the scale search
    // are tested below).
    const EncodeResult adaptive = detail::encode_at(image, 64, 64, model, options);
    const double reached = psnr(image, decode(adaptive.bytes.data(), adaptive.bytes.size(), model, exact));
    const FileInfo info = inspect(adaptive.bytes.data(), adaptive.bytes.size());
    // The smallest file one count for every tile needs for the same image PSNR.
    size_t fixed_bytes = 0;
    for (int count = 1; count <= 16 && fixed_bytes == 0; ++count) {
      fixed.tokens = count;
      const EncodeResult one = encode(image, model, fixed);
      if (psnr(image, decode(one.bytes.data(), one.bytes.size(), model, exact)) >= target)
        fixed_bytes = one.bytes.size();
    }
    INFO("target " << target << " dB: adaptive " << adaptive.bytes.size() << " bytes at " << reached
                   << " dB, fixed " << fixed_bytes);
    REQUIRE(fixed_bytes > 0);
    CHECK(reached >= target);
    CHECK(adaptive.bytes.size() <= fixed_bytes);
    // Where counts differ, the flat tiles got one token and the file is smaller than any fixed count's.
    if (info.tokens_per_tile[0] != info.tokens_per_tile[1]) {
      CHECK(info.tokens_per_tile[1] == 1);
      CHECK(info.tokens_per_tile[2] == 1);
      CHECK(info.tokens_per_tile[3] > 1);
      unequal_and_smaller = unequal_and_smaller || adaptive.bytes.size() < fixed_bytes;
    }
  }
  CHECK(unequal_and_smaller);
}

namespace {

// The fake model, counting the tiles it encodes.
class CountingModel : public FakeTileModel {
 public:
  std::vector<uint16_t> encode(const float* tiles, int n) override {
    tiles_encoded += n;
    return FakeTileModel::encode(tiles, n);
  }
  int tiles_encoded = 0;
};

// The tiles of every candidate a search encoded; fails the test when one was encoded twice.
int tiles_of(const std::vector<detail::ScaleCandidate>& encoded, int tile = 32) {
  int tiles = 0;
  for (size_t i = 0; i < encoded.size(); ++i) {
    for (size_t j = 0; j < i; ++j) CHECK_FALSE(encoded[i] == encoded[j]);
    tiles += detail::coded_grid(encoded[i].width, encoded[i].height, tile, encoded[i].overlap).count();
  }
  return tiles;
}

// The file as writers before the packed token counts (spec 4.1) wrote it: the same header and payload, the
// counts one byte per tile (PER_TILE_COUNTS), the check over those bytes. The golden fingerprints of earlier
// commits pin the tokens and counts this way, whichever form the counts now take.
std::vector<uint8_t> with_per_tile_counts(const std::vector<uint8_t>& file) {
  constexpr uint8_t kPerTileCounts = 0x20, kPackedCounts = 0x40;  // flags bits 5 and 6
  if (!(file.at(2) & kPackedCounts)) return file;
  const odp::format::Summary summary = odp::format::summarize(file.data(), file.size());
  const size_t counts_at =
      summary.header_bytes - 2 - odp::format::token_counts_bytes(summary.tokens_per_tile);
  std::vector<uint8_t> out(file.begin(), file.begin() + counts_at);
  out[2] = static_cast<uint8_t>((out[2] & ~kPackedCounts) | kPerTileCounts);
  for (uint16_t count : summary.tokens_per_tile) out.push_back(static_cast<uint8_t>(count - 1));
  const uint8_t* payload = file.data() + summary.header_bytes;
  const size_t payload_size = file.size() - summary.header_bytes;
  odp::format::wire::put_u16le(
      out, odp::format::wire::crc16_of(payload, payload_size,
                                       odp::format::wire::crc16_of(out.data(), out.size())));
  out.insert(out.end(), payload, payload + payload_size);
  return out;
}

EncodeOptions target_psnr(double target) {
  EncodeOptions options;
  options.rate = RateControl::kTargetPsnr;
  options.target_psnr = target;
  return options;
}

}  // namespace

TEST_CASE("a forced scale codes that size alone: the allocation as before, corrected by the decoded PSNR",
          "[codec]") {
  FakeTileModel model;
  const Image image = synthetic_image(150, 90);
  // Fingerprints of the full-size files (counts rewritten per tile): the allocation on one size, which
  // encode_at makes. 150 dB (out of reach) is commit 3d6186e's file, from before --target-psnr searched the
  // scale and measured its files. The others changed with the packed counts (spec 4.1): the allocation weighs
  // unequal counts at the bytes they now take (9 for these 15 tiles, not 15), keeps unequal counts more
  // often, and its files got smaller (15.9 dB: 28 -> 25 bytes, 16.0: 36 -> 30, 16.1: 43 -> 39).
  const std::vector<std::pair<double, uint64_t>> golden = {{15.9, 5238720731029738545ull},
                                                           {16.0, 14650376715168388849ull},
                                                           {16.1, 11323653863105760717ull},
                                                           {150, 8234885598813258411ull}};
  for (const auto& [target, expected] : golden) {
    EncodeOptions options = target_psnr(target);
    options.scale = 1;
    const EncodeResult allocated = detail::encode_at(image, 150, 90, model, options);
    const uint64_t fingerprint = odp::base::fingerprint(with_per_tile_counts(allocated.bytes));
    INFO("target " << target << " fingerprint " << fingerprint);
    CHECK(fingerprint == expected);
    const double allocated_psnr = psnr(image, decode(allocated.bytes.data(), allocated.bytes.size(), model));
    // encode() with the forced scale: that one size, encoded once, and the file the measured PSNR picks.
    CountingModel counting;
    detail::SizeSearchTimes times;
    const EncodeResult encoded = detail::encode_to_psnr(image, counting, options, &times);
    CHECK(encode(image, model, options).bytes == encoded.bytes);
    REQUIRE(times.encoded.size() == 1);
    CHECK(times.encoded.front() == detail::ScaleCandidate{150, 90, allocated.stats.tile_overlap});
    CHECK(counting.tiles_encoded == allocated.stats.tiles);
    const double encoded_psnr = psnr(image, decode(encoded.bytes.data(), encoded.bytes.size(), model));
    INFO("allocation " << allocated.bytes.size() << " B at " << allocated_psnr << " dB, corrected "
                       << encoded.bytes.size() << " B at " << encoded_psnr << " dB");
    if (allocated_psnr >= target) {
      CHECK(encoded_psnr >= target);                          // still reaches it ...
      CHECK(encoded.bytes.size() <= allocated.bytes.size());  // ... in no more bytes
    } else if (encoded.bytes != allocated.bytes) {
      CHECK(encoded_psnr >= target);  // a corrected file is kept only when it reaches the target
    }
  }
  // The correction never gives a larger file than the allocation, and still reaches the target. (Where the
  // allocation overshoots by more than kCloseEnoughDb, it finds a smaller one: on this image that happened at
  // 15.96 dB, 36 -> 28 bytes, until the allocation weighed the packed counts, which gives 28 bytes directly.)
  for (double target = 15.90; target < 16.1; target += 0.02) {
    EncodeOptions overshooting = target_psnr(target);
    overshooting.scale = 1;
    const EncodeResult allocated = detail::encode_at(image, 150, 90, model, overshooting);
    const EncodeResult corrected = encode(image, model, overshooting);
    const double allocated_psnr = psnr(image, decode(allocated.bytes.data(), allocated.bytes.size(), model));
    INFO("target " << target << ": allocated " << allocated.bytes.size() << " B at " << allocated_psnr
                   << " dB, corrected " << corrected.bytes.size() << " B");
    if (allocated_psnr < target) continue;
    CHECK(corrected.bytes.size() <= allocated.bytes.size());
    CHECK(psnr(image, decode(corrected.bytes.data(), corrected.bytes.size(), model)) >= target);
  }
  // A forced downscale is that one size too.
  EncodeOptions half = target_psnr(15.5);
  half.scale = 0.5;
  detail::SizeSearchTimes times;
  const EncodeResult encoded = detail::encode_to_psnr(image, model, half, &times);
  REQUIRE(times.encoded.size() == 1);
  CHECK(times.encoded.front().width == 75);
  CHECK(times.encoded.front().height == 45);
  CHECK(encoded.stats.coded_width == 75);
}

TEST_CASE("--target-psnr searches the scale: the smallest file reaching the target", "[codec]") {
  FakeTileModel model;  // 32-pixel tiles: 15.87 dB (1 token) to 16.16 (16) at scale 1
  const Image image = synthetic_image(150, 90);  // 5x3 tiles at scale 1
  int smaller = 0;
  for (double target : {15.0, 15.5, 15.9, 16.0, 16.1}) {
    EncodeOptions options = target_psnr(target);
    options.scale = 1;
    const EncodeResult full = encode(image, model, options);
    const double full_psnr = psnr(image, decode(full.bytes.data(), full.bytes.size(), model));
    options.scale = kAutoScale;
    detail::SizeSearchTimes times;
    const EncodeResult searched = detail::encode_to_psnr(image, model, options, &times);
    const double searched_psnr = psnr(image, decode(searched.bytes.data(), searched.bytes.size(), model));
    INFO("target " << target << ": full " << full.bytes.size() << " B at " << full_psnr << " dB, searched "
                   << searched.bytes.size() << " B at " << searched_psnr << " dB, coded "
                   << searched.stats.coded_width << "x" << searched.stats.coded_height);
    CHECK(searched_psnr >= target);
    if (full_psnr >= target) CHECK(searched.bytes.size() <= full.bytes.size());
    smaller += searched.bytes.size() < full.bytes.size();
    CHECK(times.candidates == searched.stats.candidates);
    CHECK(times.encoded.size() == static_cast<size_t>(searched.stats.candidates));
    // encode() takes the same path.
    CHECK(encode(image, model, options).bytes == searched.bytes);
  }
  CHECK(smaller > 0);  // a downscaled copy wins at the lower targets
}

TEST_CASE("--target-psnr's search encodes no candidate twice and reuses the full size's tokens", "[codec]") {
  const Image image = synthetic_image(150, 90);
  for (double target : {15.0, 15.9, 16.1}) {
    CountingModel model;
    detail::SizeSearchTimes times;
    const EncodeResult searched = detail::encode_to_psnr(image, model, target_psnr(target), &times);
    INFO("target " << target << ": " << times.candidates << " candidates");
    CHECK(model.tiles_encoded == tiles_of(times.encoded));
    CHECK(searched.stats.candidates <= 13);
    // The full size first; no other copy as costly (as many tiles) is encoded.
    REQUIRE_FALSE(times.encoded.empty());
    const int full_tiles = detail::coded_grid(150, 90, 32, kAutoOverlap).count();
    CHECK(times.encoded.front().width == 150);
    for (size_t i = 1; i < times.encoded.size(); ++i)
      CHECK(detail::coded_grid(times.encoded[i].width, times.encoded[i].height, 32, times.encoded[i].overlap)
                .count() < full_tiles);
  }
}

TEST_CASE("--target-psnr out of reach: the full-size file, from the full size's one encode", "[codec]") {
  const Image image = synthetic_image(150, 90);
  CountingModel model;
  EncodeOptions options = target_psnr(150);
  detail::SizeSearchTimes times;
  const EncodeResult searched = detail::encode_to_psnr(image, model, options, &times);
  // The forced scale 1's file (of the golden fingerprints above).
  CHECK(odp::base::fingerprint(with_per_tile_counts(searched.bytes)) == 8234885598813258411ull);
  CHECK(searched.stats.coded_width == 150);
  // The full size misses even with every token, so no smaller copy is encoded, and the full size only once.
  REQUIRE_FALSE(times.encoded.empty());
  for (const detail::ScaleCandidate& candidate : times.encoded) {
    CHECK(candidate.width == 150);
    CHECK(candidate.height == 90);
  }
  CHECK(model.tiles_encoded == tiles_of(times.encoded));
  // An invalid target is refused before anything is encoded.
  options.target_psnr = 0;
  CHECK_THROWS_WITH(encode(image, model, options), Catch::Contains("target PSNR"));
}

TEST_CASE("the searches' candidates: one list, no size and overlap twice", "[codec]") {
  const auto by_scale = detail::scale_candidates(768, 512, 256, kAutoOverlap);
  REQUIRE(!by_scale.empty());
  CHECK(by_scale.front().front() == detail::ScaleCandidate{768, 512, 0});
  std::vector<detail::ScaleCandidate> all;
  for (const auto& rules : by_scale) all.insert(all.end(), rules.begin(), rules.end());
  CHECK(tiles_of(all, 256) > 0);  // checks that none repeats
  const auto forced = detail::scale_candidates(768, 512, 256, 0);
  for (const auto& rules : forced) CHECK(rules.size() == 1);
}

TEST_CASE("--target-psnr keeps one count for all tiles where that is the smallest file it finds", "[codec]") {
  FakeTileModel model;
  EncodeOptions fixed;
  fixed.rate = RateControl::kTokens;
  fixed.tokens_by_area = false;
  int reachable = 0, at_most_fixed = 0, one_count_won = 0;
  for (const Image& image : {synthetic_image(150, 90), synthetic_image(96, 64), synthetic_image(200, 40)}) {
    for (double target = 15.3; target < 16.2; target += 0.01) {
      // The smallest file of one count for every tile that reaches the target, by trying every count.
      size_t fixed_bytes = 0;
      for (int count = 1; count <= 16 && fixed_bytes == 0; ++count) {
        fixed.tokens = count;
        const EncodeResult one = encode(image, model, fixed);
        if (psnr(image, decode(one.bytes.data(), one.bytes.size(), model)) >= target)
          fixed_bytes = one.bytes.size();
      }
      EncodeOptions options = target_psnr(target);
      options.scale = 1;
      const EncodeResult searched = encode(image, model, options);
      const double reached = psnr(image, decode(searched.bytes.data(), searched.bytes.size(), model));
      // Out of reach, or the allocation's estimate of it pessimistic (it measures no seam filter).
      if (fixed_bytes == 0 || reached < target) continue;
      const FileInfo info = inspect(searched.bytes.data(), searched.bytes.size());
      const bool one_count = std::all_of(info.tokens_per_tile.begin(), info.tokens_per_tile.end(),
                                         [&](int count) { return count == info.tokens_per_tile[0]; });
      const size_t allocated =
          detail::encode_at(image, image.width, image.height, model, options).bytes.size();
      INFO(image.width << "x" << image.height << " at " << target << " dB: " << searched.bytes.size()
                       << " B at " << reached << " dB (one count: " << one_count << "), the allocation "
                       << allocated << " B, the smallest fixed count's file " << fixed_bytes << " B");
      ++reachable;
      at_most_fixed += searched.bytes.size() <= fixed_bytes;
      one_count_won += one_count && info.tokens_per_tile[0] > 1 && searched.bytes.size() < allocated;
    }
  }
  std::printf(
      "one count for all tiles: %d of %d reachable targets no larger than the smallest fixed count's "
      "file, %d won over the allocation\n",
      at_most_fixed, reachable, one_count_won);
  CHECK(one_count_won > 0);
  // Not every target: the fake model's PSNR is not monotone in the count (96x64 at 16.0 dB: 4 tokens reach
  // it, 5 do not), and one_count measures at most kOneCountFiles counts. (Without it: 249 of 252, none won.)
  CHECK(at_most_fixed >= reachable * 95 / 100);
}

TEST_CASE("--target-psnr's exact refinement: still reaching the target, never a larger file", "[codec]") {
  FakeTileModel model;
  int reachable = 0, smaller = 0;
  for (const Image& image : {synthetic_image(150, 90), synthetic_image(96, 64), synthetic_image(200, 40)}) {
    for (double target = 15.3; target < 16.2; target += 0.03) {
      for (double scale : {1.0, kAutoScale}) {
        EncodeOptions options = target_psnr(target);
        options.scale = scale;
        detail::SizeSearchTimes times, unrefined_times;
        const EncodeResult refined = detail::encode_to_psnr(image, model, options, &times);
        const EncodeResult unrefined = detail::encode_to_psnr(image, model, options, &unrefined_times, false);
        const double refined_psnr = psnr(image, decode(refined.bytes.data(), refined.bytes.size(), model));
        const double unrefined_psnr =
            psnr(image, decode(unrefined.bytes.data(), unrefined.bytes.size(), model));
        INFO(image.width << "x" << image.height << " at " << target << " dB, scale " << scale << ": refined "
                         << refined.bytes.size() << " B at " << refined_psnr << " dB, unrefined "
                         << unrefined.bytes.size() << " B at " << unrefined_psnr << " dB");
        // The held tiles give the decoder's image exactly (the fake model decodes each tile alone).
        CHECK(times.refine_mismatches == 0);
        CHECK(unrefined_times.refine_decodes == 0);
        if (unrefined_psnr < target) continue;  // out of reach: the fallback, not refined
        ++reachable;
        CHECK(refined_psnr >= target);
        CHECK(refined.bytes.size() <= unrefined.bytes.size());
        if (refined.bytes.size() < unrefined.bytes.size()) {
          ++smaller;
          CHECK(times.refine_decodes > 0);
        }
        // encode() takes the refined path.
        CHECK(encode(image, model, options).bytes == refined.bytes);
      }
    }
  }
  std::printf("exact refinement: %d of %d reachable targets gave a smaller file\n", smaller, reachable);
  CHECK(reachable > 0);
  CHECK(smaller > 0);
}
