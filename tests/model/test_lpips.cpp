// Tests for train/lpips: LPIPS-alex with random weights as a batched, differentiable loss; in the trainer.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "model/weights.h"
#include "tests/catch_with_torch.h"
#include "tests/lpips_test_weights.h"
#include "tests/remove_tree.h"
#include "tests/tiny_model_config.h"
#include "train/lpips.h"
#include "train/trainer.h"

namespace fs = std::filesystem;
using namespace odp::model;
using Catch::Matchers::Contains;
using odp::testing::lpips_temp_path;
using odp::testing::TempWeights;

namespace {

// [B, 3, H, W] in [0, 1]: smooth gradients plus a little texture, a different picture per image.
torch::Tensor test_images(int64_t batch, int64_t height, int64_t width, uint64_t seed) {
  torch::manual_seed(seed);
  const auto y = torch::linspace(0, 1, height).view({1, 1, height, 1});
  const auto x = torch::linspace(0, 1, width).view({1, 1, 1, width});
  const auto phase = torch::rand({batch, 3, 1, 1}) * 6;
  return (0.5 + 0.3 * torch::sin(x * 7 + y * 3 + phase) + 0.1 * torch::rand({batch, 3, height, width}))
      .clamp(0, 1);
}

}  // namespace

TEST_CASE("LpipsNet: zero for a batch against itself, positive against others, batched as one by one") {
  const TempWeights weights("distance.safetensors", odp::testing::random_lpips(21).file);
  const LpipsNet lpips(weights.path.string(), torch::kCPU);
  REQUIRE(lpips.path() == weights.path.string());
  const auto a = test_images(3, 40, 48, 1), b = test_images(3, 40, 48, 2);
  const auto same = lpips.distance(a, a);
  REQUIRE(same.dim() == 1);
  REQUIRE(same.size(0) == 3);
  REQUIRE(same.abs().max().item<double>() == 0.0);
  const auto d = lpips.distance(a, b);
  REQUIRE(d.sizes() == same.sizes());
  REQUIRE(torch::isfinite(d).all().item<bool>());
  REQUIRE(d.min().item<double>() > 0);
  // Symmetric, and each batch entry as if computed alone.
  REQUIRE(torch::allclose(lpips.distance(b, a), d, 1e-5, 1e-7));
  for (int64_t i = 0; i < 3; ++i) {
    const double alone = lpips.distance(a.slice(0, i, i + 1), b.slice(0, i, i + 1)).item<double>();
    REQUIRE(alone == Approx(d[i].item<double>()).epsilon(1e-5));
  }
  // Features computed once give the same distances.
  REQUIRE(torch::allclose(lpips.distance(lpips.features(a), lpips.features(b)), d, 1e-6, 1e-8));
  // Taps: five, unit length over channels; AlexNet needs 31 pixels on a side.
  const auto taps = lpips.features(a);
  REQUIRE(taps.size() == 5);
  REQUIRE(taps[0].size(1) == 64);
  REQUIRE(taps[4].size(1) == 256);
  REQUIRE(torch::allclose(taps[2].pow(2).sum(1), torch::ones_like(taps[2].pow(2).sum(1)), 1e-4, 1e-4));
  REQUIRE_NOTHROW(lpips.features(test_images(1, LpipsNet::kMinSide, 40, 3)));
  REQUIRE_THROWS_AS(lpips.features(test_images(1, LpipsNet::kMinSide - 1, 40, 3)), ModelError);
  REQUIRE_THROWS_WITH(lpips.features(test_images(1, 40, LpipsNet::kMinSide - 1, 3)),
                      Contains("at least 31x31"));
  REQUIRE_THROWS_AS(lpips.distance(a, test_images(3, 40, 40, 2)), ModelError);
  REQUIRE_THROWS_AS(lpips.features(torch::rand({2, 1, 40, 40})), ModelError);
}

TEST_CASE("LpipsNet: gradients reach the images, never the weights") {
  const TempWeights weights("gradient.safetensors", odp::testing::random_lpips(22).file);
  const LpipsNet lpips(weights.path.string(), torch::kCPU);
  const auto target = test_images(2, 36, 44, 4);
  auto images = test_images(2, 36, 44, 5).requires_grad_(true);
  const auto loss = lpips.distance(images, target).mean();
  REQUIRE(loss.requires_grad());
  loss.backward();
  REQUIRE(images.grad().defined());
  REQUIRE(torch::isfinite(images.grad()).all().item<bool>());
  REQUIRE(images.grad().abs().sum().item<double>() > 0);
  // Both images of the batch get a gradient.
  REQUIRE(images.grad()[0].abs().sum().item<double>() > 0);
  REQUIRE(images.grad()[1].abs().sum().item<double>() > 0);
  // A small step against the gradient lowers the distance.
  torch::Tensor stepped;
  {
    torch::NoGradGuard no_grad;
    stepped = images - 1e-3 * images.grad() / images.grad().abs().max();
  }
  REQUIRE(lpips.distance(stepped, target).mean().item<double>() < loss.item<double>());
  // Without gradients on the inputs nothing records a graph: the weights are frozen.
  REQUIRE_FALSE(lpips.distance(target, test_images(2, 36, 44, 6)).requires_grad());
}

TEST_CASE("LpipsNet: a file with a missing or misshaped tensor is refused with the tensor's name") {
  SafetensorsFile file = odp::testing::random_lpips(23).file;
  file.tensors.erase("net.slice4.8.bias");
  {
    const TempWeights weights("missing.safetensors", file);
    REQUIRE_THROWS_AS(LpipsNet(weights.path.string(), torch::kCPU), ModelError);
    REQUIRE_THROWS_WITH(LpipsNet(weights.path.string(), torch::kCPU),
                        Contains("net.slice4.8.bias") && Contains("lacks") &&
                            Contains(weights.path.string()) && Contains("lpips.LPIPS(net='alex')"));
  }
  file = odp::testing::random_lpips(23).file;
  file.tensors["lin1.model.1.weight"] = odp::testing::f32_blob(std::vector<float>(192, 0.5f), {192});
  {
    const TempWeights weights("misshaped.safetensors", file);
    REQUIRE_THROWS_AS(LpipsNet(weights.path.string(), torch::kCPU), ModelError);
    REQUIRE_THROWS_WITH(LpipsNet(weights.path.string(), torch::kCPU),
                        Contains("lin1.model.1.weight") && Contains("[192]") && Contains("[1, 192, 1, 1]"));
  }
  file = odp::testing::random_lpips(23).file;
  std::vector<float> nan_bias(64, 0.f);
  nan_bias[5] = std::nanf("");
  file.tensors["net.slice1.0.bias"] = odp::testing::f32_blob(nan_bias, {64});
  {
    const TempWeights weights("nan.safetensors", file);
    REQUIRE_THROWS_WITH(LpipsNet(weights.path.string(), torch::kCPU),
                        Contains("net.slice1.0.bias") && Contains("NaN"));
  }
  const fs::path none = lpips_temp_path("none.safetensors");
  REQUIRE_THROWS_AS(LpipsNet(none.string(), torch::kCPU), ModelError);
  REQUIRE_THROWS_WITH(LpipsNet(none.string(), torch::kCPU), Contains(none.string()));
}

TEST_CASE("a short training run with an LPIPS loss completes and writes a checkpoint") {
  const ModelConfig c = odp::testing::tiny_model_config();  // 32-pixel tiles: AlexNet's minimum is 31
  ImageBank bank(c.tile_size, torch::kCPU);
  const int w = 64, h = 40;
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < 3; ++ch)
        rgb[(static_cast<size_t>(y) * w + x) * 3 + ch] =
            static_cast<uint8_t>((x * 3 + y * (ch + 1) * 2) % 256);
  bank.add(rgb.data(), w, h);
  const TempWeights weights("train.safetensors", odp::testing::random_lpips(24).file);

  TrainOptions o;
  o.config = c;
  o.batch = 4;
  o.max_steps = 100;  // the log's first line comes after 100 steps
  o.minutes = 0;
  o.warmup_steps = 5;
  o.eval_every = 0;
  o.device = "cpu";
  o.lpips_path = weights.path.string();
  o.lpips_weight = 0.5;
  o.out_dir = lpips_temp_path("run").string();
  odp::testing::remove_tree(o.out_dir);
  train(o, bank, torch::Tensor());
  const auto trained = load_network(o.out_dir + "/checkpoint-fp16.safetensors");
  REQUIRE(std::stoll(trained.metadata.at("train.samples")) == 100 * 4);
  std::ifstream log_in(o.out_dir + "/log.tsv");
  std::stringstream log;
  log << log_in.rdbuf();
  REQUIRE_THAT(log.str(), Contains("# LPIPS loss, weight 0.5") && Contains("\tlpips\t"));

  // The LPIPS term changes what is learned: the same run without it ends elsewhere.
  TrainOptions plain = o;
  plain.lpips_weight = 0;
  plain.out_dir = lpips_temp_path("run_plain").string();
  odp::testing::remove_tree(plain.out_dir);
  train(plain, bank, torch::Tensor());
  const auto without = load_network(plain.out_dir + "/checkpoint-fp16.safetensors");
  double change = 0;
  {
    torch::NoGradGuard no_grad;
    const auto p = trained.net->parameters(), q = without.net->parameters();
    REQUIRE(p.size() == q.size());
    for (size_t i = 0; i < p.size(); ++i) change += (p[i] - q[i]).abs().sum().item<double>();
  }
  REQUIRE(change > 0);
  odp::testing::remove_tree(plain.out_dir);
  odp::testing::remove_tree(o.out_dir);

  // A missing file stops the run before anything is written; so does a weight without a file.
  TrainOptions missing = o;
  missing.lpips_path = lpips_temp_path("no-such-lpips.safetensors").string();
  missing.out_dir = lpips_temp_path("run_missing").string();
  odp::testing::remove_tree(missing.out_dir);
  REQUIRE_THROWS_AS(train(missing, bank, torch::Tensor()), ModelError);
  REQUIRE_THROWS_WITH(train(missing, bank, torch::Tensor()), Contains(missing.lpips_path));
  REQUIRE_FALSE(fs::exists(missing.out_dir));
  missing.lpips_path.clear();
  REQUIRE_THROWS_WITH(train(missing, bank, torch::Tensor()), Contains("LPIPS"));
  REQUIRE_FALSE(fs::exists(missing.out_dir));
}
