// The AVIF and JPEG XL anchors (when this build has them): a budgeted file fits, is that format and decodes
// well.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/resample.h"
#include "bench/anchors.h"
#include "bench/metrics.h"
#include "bench_test_images.h"

using namespace odp::bench;
using odp::base::resize_bicubic;
using odp::base::scaled_size;
using odp::bench::test::make_photo_like;

namespace {

bool built(const std::string& name) {
  const auto names = available_anchors();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The signature each format's files start with: ISOBMFF "ftyp" box with brand "avif"; JPEG XL's bare
// codestream.
bool has_signature(const std::string& name, const std::vector<uint8_t>& bytes) {
  if (name == "avif")
    return bytes.size() > 12 && std::string(bytes.begin() + 4, bytes.begin() + 12) == "ftypavif";
  return bytes.size() > 2 && bytes[0] == 0xFF && bytes[1] == 0x0A;
}

}  // namespace

TEST_CASE("AVIF and JPEG XL anchors fit a byte budget and decode to a sensible PSNR") {
  const Image original = make_photo_like(128, 96);
  for (const std::string name : {"avif", "jxl"}) {
    CAPTURE(name);
    if (!built(name)) {
      WARN("the " << name << " anchor is not in this build: skipped");
      CHECK_THROWS_AS(make_anchor(name), BenchError);  // says which library to install
      continue;
    }
    const Anchor anchor = make_anchor(name);
    AnchorSearch search(anchor, original);
    const uint64_t budget = 700;
    const auto best = search.best_within(budget);
    REQUIRE(best.has_value());
    CAPTURE(best->setting(anchor), best->bytes, best->psnr);
    CHECK(best->bytes <= budget);

    // The chosen setting again, by hand: the file itself fits, is of the format, and decodes to its PSNR.
    int w = 0, h = 0;
    scaled_size(original.width, original.height, best->divisor, &w, &h);
    const std::vector<uint8_t> file =
        anchor.modes.at(best->mode)->encode(resize_bicubic(original, w, h), best->quality);
    CHECK(file.size() == best->bytes);
    CHECK(file.size() <= budget);
    CHECK(has_signature(name, file));
    const Image decoded = anchor.decode(file);
    REQUIRE(decoded.width == w);
    REQUIRE(decoded.height == h);
    const double psnr = psnr_rgb(original, resize_bicubic(decoded, original.width, original.height));
    CHECK(psnr == Approx(best->psnr));
    CHECK(psnr > 28);

    const auto larger = search.best_within(4 * budget);
    REQUIRE(larger.has_value());
    CHECK(larger->bytes <= 4 * budget);
    CHECK(larger->psnr > best->psnr);
    CHECK_THROWS_AS(anchor.decode({0x00, 0x01, 0x02, 0x03}), BenchError);
  }
}

TEST_CASE("AVIF and JPEG XL anchors say when a budget cannot be reached") {
  const Image original = make_photo_like(96, 96);
  // AVIF's boxes alone (ftyp, meta, av1C, ...) take ~275 bytes, its smallest file ~300; libjxl 0.7's smallest
  // lossy file is ~55 bytes, even for one pixel.
  for (const auto& [name, unreachable] :
       std::vector<std::pair<std::string, uint64_t>>{{"avif", 250}, {"jxl", 40}}) {
    CAPTURE(name);
    if (!built(name)) continue;
    const Anchor anchor = make_anchor(name);
    AnchorSearch search(anchor, original);
    CHECK_FALSE(search.best_within(unreachable).has_value());
  }
}
