// Tests of blend_networks: the weight-space interpolation behind odp-train blend.
#include "tests/catch_with_torch.h"
#include "tests/tiny_model_config.h"
#include "train/blend.h"

using namespace odp::model;

namespace {

TokenizerNet seeded_network(uint64_t seed) {
  torch::manual_seed(seed);
  return TokenizerNet(odp::testing::tiny_model_config());
}

}  // namespace

TEST_CASE("blend_networks gives A at 0, B at 1 and the mean at 0.5, weights and buffers") {
  auto a = seeded_network(1), b = seeded_network(2);
  const auto a_params = a->named_parameters(), b_params = b->named_parameters();
  std::vector<torch::Tensor> a_before, b_copy;
  for (const auto& item : a_params) a_before.push_back(item.value().detach().clone());
  for (const auto& item : b_params) b_copy.push_back(item.value().detach().clone());
  REQUIRE(!torch::equal(a_before[0], b_copy[0]));

  auto zero = seeded_network(1);
  blend_networks(zero, b, 0.0);
  size_t i = 0;
  for (const auto& item : zero->named_parameters()) REQUIRE(torch::equal(item.value(), a_before[i++]));

  auto one = seeded_network(1);
  blend_networks(one, b, 1.0);
  i = 0;
  for (const auto& item : one->named_parameters()) REQUIRE(torch::allclose(item.value(), b_copy[i++]));

  blend_networks(a, b, 0.5);
  i = 0;
  for (const auto& item : a->named_parameters()) {
    REQUIRE(torch::allclose(item.value(), 0.5 * (a_before[i] + b_copy[i]), 1e-6, 1e-7));
    ++i;
  }
  for (const auto& item : a->named_buffers()) {
    if (!item.value().is_floating_point()) continue;
    const auto expected =
        0.5 * (seeded_network(1)->named_buffers()[item.key()] + b->named_buffers()[item.key()]);
    REQUIRE(torch::allclose(item.value(), expected, 1e-6, 1e-7));
  }
}

TEST_CASE("blend_networks refuses another architecture and an alpha outside [0, 1], leaving A unchanged") {
  auto a = seeded_network(1);
  auto wider_config = odp::testing::tiny_model_config();
  wider_config.width = 48;
  TokenizerNet wider(wider_config);
  const auto before = a->named_parameters()[0].value().detach().clone();
  REQUIRE_THROWS_WITH(blend_networks(a, wider, 0.5), Catch::Contains("different shapes"));
  auto b = seeded_network(2);
  REQUIRE_THROWS_WITH(blend_networks(a, b, 1.5), Catch::Contains("alpha must lie in [0, 1]"));
  REQUIRE_THROWS_WITH(blend_networks(a, b, -0.1), Catch::Contains("alpha"));
  REQUIRE(torch::equal(a->named_parameters()[0].value(), before));
}
