// The anchors' budget search: it fits the budget, says when it cannot, and finds matched quality.
#include "bench/anchors.h"

#include <catch2/catch.hpp>

#include "bench/metrics.h"
#include "bench_test_images.h"

using namespace odp::bench;
using odp::bench::test::make_photo_like;

TEST_CASE("every available anchor round-trips an image") {
  const Image a = make_photo_like(64, 48);
  for (const auto& name : available_anchors()) {
    const Anchor anchor = make_anchor(name);
    for (const auto& mode : anchor.modes) {
      const auto bytes = mode->encode(a, 90);
      const Image decoded = anchor.decode(bytes);
      CAPTURE(name, mode->name());
      CHECK(decoded.width == 64);
      CHECK(psnr_rgb(a, decoded) > 30);
      CHECK(mode->encode(a, 20).size() < bytes.size());
    }
  }
}

TEST_CASE("the budget search fits the budget and improves with it") {
  const Image a = make_photo_like(96, 96);
  for (const auto& name : available_anchors()) {
    CAPTURE(name);
    const Anchor anchor = make_anchor(name);
    AnchorSearch search(anchor, a);
    CHECK_FALSE(search.best_within(10).has_value());  // no anchor makes a file that small
    const auto small = search.best_within(600), large = search.best_within(3000);
    REQUIRE(small.has_value());
    REQUIRE(large.has_value());
    CHECK(small->bytes <= 600);
    CHECK(large->bytes <= 3000);
    CHECK(large->psnr >= small->psnr);
    CHECK(psnr_rgb(a, search.reconstruct(*large)) == Approx(large->psnr));
    CHECK(small->setting(anchor).rfind("q=", 0) == 0);
  }
}

TEST_CASE("tiny budgets are met by downscaling") {
  const Image a = make_photo_like(256, 256);
  const Anchor jpeg = make_jpeg_anchor();
  AnchorSearch search(jpeg, a);
  const auto at_full = AnchorSearch(jpeg, a, {1}).best_within(450);
  const auto any = search.best_within(450);
  REQUIRE(any.has_value());
  CHECK(any->divisor > 1);
  if (at_full) CHECK(any->psnr >= at_full->psnr);
}

TEST_CASE("the matched-quality search reaches the target with the fewest bytes it finds") {
  const Image a = make_photo_like(96, 96);
  const Anchor jpeg = make_jpeg_anchor();
  AnchorSearch search(jpeg, a);
  const auto reference = search.best_within(2000);
  REQUIRE(reference.has_value());
  const auto matched = search.smallest_reaching(reference->psnr);
  REQUIRE(matched.has_value());
  CHECK(matched->psnr >= reference->psnr);
  CHECK(matched->bytes <= reference->bytes);
  CHECK_FALSE(search.smallest_reaching(200.0).has_value());  // beyond any lossy setting
}

TEST_CASE("unknown anchors are refused by name") {
  CHECK_THROWS_WITH(make_anchor("gif"), Catch::Contains("gif"));
  CHECK(divisor_label(1) == "1");
  CHECK(divisor_label(6) == "1/6");
}
