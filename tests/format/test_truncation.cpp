// truncate_to_bytes: the longest token-major prefix that fits, checked against a brute-force search (v2 and
// v1).
#include <catch2/catch.hpp>

#include "format_test_util.h"

using namespace odp::format;
using namespace odp::format::test;

namespace {

// Size of the file holding the first `prefix` tokens in payload order.
size_t prefix_file_size(const TokenFile& image, size_t prefix) {
  return write(token_major_prefix(image, prefix)).size();
}

void check_every_budget(const TokenFile& image) {
  const size_t tile_count = image.tile_tokens.size();
  const size_t total = total_tokens(image);
  std::vector<size_t> size_of_prefix(total + 1, 0);
  for (size_t prefix = tile_count; prefix <= total; ++prefix)
    size_of_prefix[prefix] = prefix_file_size(image, prefix);

  CHECK_THROWS_WITH(truncate_to_bytes(image, size_of_prefix[tile_count] - 1),
                    Catch::Contains("even 1 token per tile"));
  for (size_t budget = size_of_prefix[tile_count]; budget <= size_of_prefix[total] + 2; ++budget) {
    size_t best = tile_count;  // brute force: the longest prefix whose file fits
    for (size_t prefix = tile_count; prefix <= total; ++prefix) {
      if (size_of_prefix[prefix] <= budget) best = prefix;
    }
    const std::vector<uint8_t> file = truncate_to_bytes(image, budget);
    INFO("budget " << budget);
    CHECK(file.size() <= budget);
    const TokenFile back = read(file.data(), file.size());
    CHECK_FALSE(back.was_cut);
    CHECK(total_tokens(back) == best);
    CHECK(back.tile_tokens == token_major_prefix(image, best).tile_tokens);
  }
}

}  // namespace

TEST_CASE("truncate_to_bytes keeps the longest prefix that fits, for every budget") {
  const int version = GENERATE(2, 1);
  INFO("version " << version);
  const auto in_version = [&](TokenFile image) {
    image.header.version = version;
    return image;
  };
  SECTION("equal counts: whole layers drop the per-tile or packed count bytes") {
    check_every_budget(in_version(make_image(64, 40, 16, 0, 9, std::vector<int>(12, 6), 21)));
  }
  SECTION("unequal counts and metadata") {
    TokenFile image = in_version(make_image(30, 30, 16, 4, 3, {9, 2, 5, 7, 1, 9, 3, 8, 9}, 22));
    image.metadata.push_back({"ICCP", {9, 9, 9}});
    check_every_budget(image);
  }
  SECTION("many tiles of unequal counts: the packed counts' width changes along the prefixes") {
    std::vector<int> counts;
    for (int tile = 0; tile < 40; ++tile) counts.push_back(1 + (tile * 7) % 19 + (tile % 5 == 0 ? 12 : 0));
    check_every_budget(in_version(make_image(160, 64, 16, 0, 2, counts, 25)));
  }
  SECTION("one tile") { check_every_budget(in_version(make_image(16, 16, 16, 0, 12, {200}, 23))); }
  SECTION("compressible metadata and a coded size (version 2 only)") {
    if (version == 2) {
      TokenFile image = make_image(600, 300, 256, 0, 5, {4, 9}, 24);
      image.header.coded_width = 300;
      image.header.coded_height = 200;
      image.metadata.push_back({"ICCP", std::vector<uint8_t>(500, 1)});
      check_every_budget(image);
    }
  }
}
