// The crop grid: its layout size, its crops, its labels and its refusal of ragged rows.
#include "bench/crop_grid.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "bench/metrics.h"
#include "bench_test_images.h"

using namespace odp::bench;
using odp::bench::test::make_image;

TEST_CASE("the grid holds one centre crop per cell and grey squares for unreached budgets") {
  const Image red = make_image(64, 64, [](int, int, int c) { return c == 0 ? 255 : 0; });
  const std::vector<std::vector<GridCell>> rows = {{{true, red, "12 B"}, {false, {}, "CANNOT REACH"}}};
  const Image grid = crop_grid({"original", "jpeg"}, rows, 32, "title");
  CHECK(grid.width > 64);
  CHECK(grid.height > 32);
  REQUIRE(grid.rgb.size() == static_cast<size_t>(grid.width) * grid.height * 3);
  const auto count_color = [&](uint8_t r, uint8_t g, uint8_t b) {
    int n = 0;
    for (size_t i = 0; i < grid.rgb.size(); i += 3)
      n += grid.rgb[i] == r && grid.rgb[i + 1] == g && grid.rgb[i + 2] == b;
    return n;
  };
  CHECK(count_color(255, 0, 0) == 32 * 32);
  CHECK(count_color(200, 200, 200) > 32 * 30);
  CHECK(count_color(0, 0, 0) > 0);  // the title and column names
}

TEST_CASE("ragged rows are refused") {
  CHECK_THROWS_AS(crop_grid({"a", "b"}, {{GridCell{}}}, 16, ""), BenchError);
}

TEST_CASE("text is drawn in the built-in font and unknown characters stay blank") {
  Image canvas = make_image(40, 10, [](int, int, int) { return 255; });
  draw_text(canvas, 0, 0, "~", 1, 0);
  CHECK(std::count(canvas.rgb.begin(), canvas.rgb.end(), 0) == 0);
  draw_text(canvas, 0, 0, "T1", 1, 0);
  CHECK(std::count(canvas.rgb.begin(), canvas.rgb.end(), 0) == (11 + 10) * 3);  // ink of 'T' and '1'
}
