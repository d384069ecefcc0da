// Tests of the encoder search (train/effort.h): it starts from the encoder's tokens and never ends worse.
#include <vector>

#include "tests/catch_with_torch.h"
#include "tests/tiny_model_config.h"
#include "train/effort.h"
#include "train/trainer.h"

using namespace odp::model;

namespace {

// Two smooth, different tiles in [0,1].
torch::Tensor test_tiles(int tile) {
  const auto ramp = torch::linspace(0, 1, tile);
  const auto a = torch::stack({ramp.view({1, -1}).expand({tile, tile}),
                               ramp.view({-1, 1}).expand({tile, tile}), torch::full({tile, tile}, 0.3)});
  return torch::stack({a, 1.0 - a.flip({2})}).contiguous();
}

}  // namespace

TEST_CASE("encoder search never gives a worse PSNR than the encoder's tokens at the lengths it guards") {
  torch::manual_seed(3);
  TokenizerNet net(odp::testing::tiny_model_config());
  net->eval();
  const auto tiles = test_tiles(net->config.tile_size);
  EffortOptions options;
  options.steps = 8;
  options.lr = 0.2;                    // large steps, so that some tokens do change on the tiny random model
  options.lengths = {1, 2, 4, 8, 16};  // every length evaluate() reports for 16 tokens
  const auto held = refine_indices(net, tiles, options, {0, 8});
  REQUIRE(held.size() == 2);
  torch::Tensor encoded;
  {
    torch::NoGradGuard no_grad;
    encoded = net->encode_indices(tiles);
  }
  REQUIRE(torch::equal(held[0], encoded));  // zero steps: the encoder's tokens
  const auto base = evaluate(net, tiles, false, false);
  const auto refined = evaluate(net, tiles, false, false, held[1]);
  REQUIRE(refined.rows.size() == base.rows.size());
  for (size_t r = 0; r < base.rows.size(); ++r) {
    INFO("tokens " << base.rows[r].tokens);
    // The search's own decode takes autograd's form of the same arithmetic: equal up to rounding.
    REQUIRE(refined.rows[r].psnr >= base.rows[r].psnr - 1e-3);
  }
  REQUIRE((held[1] != encoded).any().item<bool>());  // some tokens moved: the check above is not vacuous
  for (const auto& p : net->parameters()) REQUIRE(p.requires_grad());  // the weights are left as they were
}
