// Tests of the trainer's state file: a run stopped and resumed continues exactly as one uninterrupted run.
#include <unistd.h>

#include <cmath>
#include <string>
#include <vector>

#include "model/model_file.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "tests/catch_with_torch.h"
#include "tests/remove_tree.h"
#include "tests/tiny_model_config.h"
#include "train/trainer.h"

using namespace odp::model;

namespace {

std::string temp_dir(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("odp_test_state_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

ImageBank smooth_bank(int tile) {
  ImageBank bank(tile, torch::kCPU);
  const int w = 80, h = 48;
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < 3; ++ch)
        rgb[(static_cast<size_t>(y) * w + x) * 3 + ch] =
            static_cast<uint8_t>((x * 5 + y * (ch + 2) * 3) % 256);
  bank.add(rgb.data(), w, h);
  return bank;
}

TrainOptions short_run(const std::string& out) {
  TrainOptions o;
  o.config = odp::testing::tiny_model_config();
  o.batch = 4;
  o.max_steps = 12;
  o.minutes = 0;
  o.warmup_steps = 3;
  o.lr = 3e-3;
  o.eval_every = 0;
  o.save_every_minutes = 1e9;  // only the final save
  o.device = "cpu";
  o.out_dir = out;
  odp::testing::remove_tree(out);
  return o;
}

SafetensorsFile read_state(const std::string& out) {
  const std::string path = out + "/" + kTrainStateFile;
  return parse_safetensors(read_model_bytes(path), path);
}

torch::Tensor tensor_of(const SafetensorsFile& file, const std::string& name) {
  return tensor_from_blob(file.tensors.at(name), name).to(torch::kFloat32);
}

// The largest absolute difference between the two files' tensors of one kind ("net.", "ema.", "adam.m.",
// ...).
double max_difference(const SafetensorsFile& a, const SafetensorsFile& b, const std::string& prefix) {
  double worst = 0;
  int compared = 0;
  for (const auto& [name, blob] : a.tensors) {
    if (name.rfind(prefix, 0) != 0) continue;
    REQUIRE(b.tensors.count(name) == 1);
    worst = std::max(worst, (tensor_of(a, name) - tensor_of(b, name)).abs().max().item<double>());
    ++compared;
  }
  REQUIRE(compared > 10);
  return worst;
}

}  // namespace

TEST_CASE("a run stopped and resumed from its fp32 state ends exactly where an uninterrupted run ends") {
  const auto bank = smooth_bank(odp::testing::tiny_model_config().tile_size);
  auto whole = short_run(temp_dir("whole"));
  whole.state_dtype = torch::kFloat32;
  train(whole, bank, torch::Tensor());

  auto first = short_run(temp_dir("first"));
  first.state_dtype = torch::kFloat32;
  first.stop_after_steps = 5;
  train(first, bank, torch::Tensor());
  const auto stopped = read_state(first.out_dir);
  REQUIRE(stopped.metadata.at("state.step") == "5");
  REQUIRE(stopped.metadata.at("state.adam_steps") == "5");
  REQUIRE(stopped.metadata.at("state.total_steps") == "12");  // stopping early leaves the schedule alone
  REQUIRE(stopped.metadata.at("state.samples") == "20");

  auto second = short_run(temp_dir("second"));
  second.resume_state = first.out_dir + "/" + kTrainStateFile;
  second.state_dtype = torch::kFloat32;
  second.lr = 1.0;          // ignored: the saved schedule goes on
  second.max_steps = 1000;  // likewise
  train(second, bank, torch::Tensor());

  const auto expected = read_state(whole.out_dir), resumed = read_state(second.out_dir);
  REQUIRE(resumed.metadata.at("state.step") == "12");
  REQUIRE(resumed.metadata.at("state.adam_steps") == expected.metadata.at("state.adam_steps"));
  REQUIRE(resumed.metadata.at("state.samples") == expected.metadata.at("state.samples"));
  REQUIRE(resumed.metadata.at("state.lr") == expected.metadata.at("state.lr"));
  REQUIRE(resumed.metadata.at("state.host_rng") == expected.metadata.at("state.host_rng"));
  // Step, learning rate, moments, data and token drop all continued: the weights agree to the bit.
  for (const char* kind : {"net.", "ema.", "adam.m.", "adam.v."}) {
    INFO(kind);
    REQUIRE(max_difference(expected, resumed, kind) == 0.0);
  }
  // And the run really moved: the weights differ from the stopped run's.
  REQUIRE(max_difference(stopped, resumed, "net.") > 1e-4);

  // The shipped checkpoint beside the state holds the EMA weights and counts all samples.
  const auto checkpoint = load_network(second.out_dir + "/checkpoint-fp16.safetensors");
  REQUIRE(checkpoint.metadata.at("train.samples") == "48");
  for (const auto& dir : {whole.out_dir, first.out_dir, second.out_dir}) odp::testing::remove_tree(dir);
}

TEST_CASE("a bf16 state keeps the moments to bf16 precision and resumes the schedule") {
  const auto bank = smooth_bank(odp::testing::tiny_model_config().tile_size);
  auto exact = short_run(temp_dir("exact"));
  exact.state_dtype = torch::kFloat32;
  exact.stop_after_steps = 6;
  train(exact, bank, torch::Tensor());
  auto compact = short_run(temp_dir("compact"));
  compact.stop_after_steps = 6;  // bf16 is the default
  train(compact, bank, torch::Tensor());
  const auto f32 = read_state(exact.out_dir), bf16 = read_state(compact.out_dir);
  REQUIRE(bf16.tensors.at("adam.v.head.to_rgb.weight").dtype == "BF16");
  for (const auto& [name, blob] : f32.tensors) {
    if (name.rfind("adam.", 0) != 0) continue;
    // The same run to this point: the bf16 file holds the fp32 moments rounded to bf16, tiny second moments
    // too.
    const auto rounded = tensor_of(f32, name).to(torch::kBFloat16).to(torch::kFloat32);
    REQUIRE(torch::equal(rounded, tensor_of(bf16, name)));
  }

  auto resumed = short_run(temp_dir("resumed"));
  resumed.resume_state = compact.out_dir + "/" + kTrainStateFile;
  train(resumed, bank, torch::Tensor());
  const auto end = read_state(resumed.out_dir);
  REQUIRE(end.metadata.at("state.step") == "12");
  REQUIRE(end.metadata.at("state.adam_steps") == "12");

  // A new schedule segment starts at the resumed step and runs the given number of steps.
  auto extended = short_run(temp_dir("extended"));
  extended.resume_state = resumed.out_dir + "/" + kTrainStateFile;
  extended.new_schedule = true;
  extended.max_steps = 4;
  extended.warmup_steps = 0;
  train(extended, bank, torch::Tensor());
  const auto longer = read_state(extended.out_dir);
  REQUIRE(longer.metadata.at("state.step") == "16");
  REQUIRE(longer.metadata.at("state.schedule_start") == "12");
  REQUIRE(longer.metadata.at("state.total_steps") == "16");
  for (const auto& dir : {exact.out_dir, compact.out_dir, resumed.out_dir, extended.out_dir})
    odp::testing::remove_tree(dir);
}

TEST_CASE("a damaged train state is refused naming the problem") {
  const auto bank = smooth_bank(odp::testing::tiny_model_config().tile_size);
  auto run = short_run(temp_dir("damaged"));
  run.max_steps = 2;
  train(run, bank, torch::Tensor());
  const std::string path = run.out_dir + "/" + kTrainStateFile;
  auto state = read_state(run.out_dir);
  state.tensors.erase("adam.m.head.to_rgb.bias");
  write_safetensors_file(path, state);
  auto again = short_run(temp_dir("damaged_again"));
  again.resume_state = path;
  REQUIRE_THROWS_WITH(train(again, bank, torch::Tensor()), Catch::Contains("adam.m.head.to_rgb.bias"));
  state = read_state(run.out_dir);
  state.metadata["state.step"] = "five";
  write_safetensors_file(path, state);
  REQUIRE_THROWS_WITH(train(again, bank, torch::Tensor()), Catch::Contains("state.step"));
  odp::testing::remove_tree(run.out_dir);
  odp::testing::remove_tree(again.out_dir);
}

TEST_CASE("a slim state keeps the optimizer without the weights and resumes beside its model file") {
  const auto bank = smooth_bank(odp::testing::tiny_model_config().tile_size);
  auto run = short_run(temp_dir("slim_source"));
  run.stop_after_steps = 7;
  train(run, bank, torch::Tensor());
  const auto full = read_state(run.out_dir);
  const auto slim = slim_train_state(full);
  REQUIRE(slim.tensors.count("adam.m.head.to_rgb.weight") == 1);
  REQUIRE(slim.tensors.count("rng.torch") == 1);
  for (const auto& [name, blob] : slim.tensors) {
    REQUIRE(name.rfind("net.", 0) != 0);
    REQUIRE(name.rfind("ema.", 0) != 0);
  }
  // The full state holds four tensors per parameter (weights, EMA, two moments), the slim one two.
  REQUIRE(2 * (slim.tensors.size() - 1) == full.tensors.size() - 1);
  const std::string slim_path = run.out_dir + "/slim.safetensors";
  write_safetensors_file(slim_path, slim);

  auto resumed = short_run(temp_dir("slim_resumed"));
  resumed.resume_state = slim_path;
  REQUIRE_THROWS_WITH(train(resumed, bank, torch::Tensor()), Catch::Contains("no weights"));
  resumed.init_model = run.out_dir + "/checkpoint-fp16.safetensors";
  train(resumed, bank, torch::Tensor());
  const auto end = read_state(resumed.out_dir);
  REQUIRE(end.metadata.at("state.step") == "12");
  REQUIRE(end.metadata.at("state.adam_steps") == "12");  // the moments' bias correction went on from 7

  // A full state carries its own weights: a model file beside it would be ambiguous.
  auto ambiguous = short_run(temp_dir("slim_ambiguous"));
  ambiguous.resume_state = run.out_dir + "/" + kTrainStateFile;
  ambiguous.init_model = resumed.init_model;
  REQUIRE_THROWS_WITH(train(ambiguous, bank, torch::Tensor()), Catch::Contains("its own weights"));
  for (const auto& dir : {run.out_dir, resumed.out_dir, ambiguous.out_dir}) odp::testing::remove_tree(dir);
}

TEST_CASE("Tail Token Drop keeps 1..N tokens uniformly, all N in the asked fraction of samples") {
  const int n = 256;
  const int64_t batch = 40000;
  const torch::Device cpu(torch::kCPU);

  // Fraction 0 is the uniform draw earlier runs made, from the same random numbers.
  torch::manual_seed(7);
  const auto uniform = draw_kept_lengths(batch, n, 0.0, cpu);
  torch::manual_seed(7);
  CHECK(torch::equal(uniform, torch::randint(1, n + 1, {batch}, torch::kInt64)));
  CHECK(uniform.min().item<int64_t>() == 1);
  CHECK(uniform.max().item<int64_t>() == n);
  CHECK(uniform.to(torch::kDouble).mean().item<double>() == Approx((n + 1) / 2.0).epsilon(0.02));

  torch::manual_seed(7);
  const auto mixed = draw_kept_lengths(batch, n, 0.25, cpu);
  const auto full = (mixed == n).to(torch::kDouble).mean().item<double>();
  CHECK(full == Approx(0.25 + 0.75 / n).margin(0.01));
  const auto partial = mixed.masked_select(mixed < n).to(torch::kDouble);
  CHECK(partial.min().item<double>() == 1);
  CHECK(partial.mean().item<double>() == Approx(n / 2.0).epsilon(0.02));

  CHECK(torch::equal(draw_kept_lengths(64, n, 1.0, cpu), torch::full({64}, n, torch::kInt64)));
  CHECK_THROWS_WITH(draw_kept_lengths(8, n, 1.5, cpu), Catch::Contains("full-length fraction"));

  // The log-uniform draw: P(k) = ln((k + 1) / k) / ln(N + 1), so P(1) = ln 2 / ln 257 and the mean is
  // sum_k k P(k); with full fraction 0 and log-uniform fraction 1 every sample draws from it.
  double expected_mean = 0;
  for (int k = 1; k <= n; ++k) expected_mean += k * std::log((k + 1.0) / k) / std::log(n + 1.0);
  torch::manual_seed(7);
  const auto log_uniform = draw_kept_lengths(batch, n, 0.0, cpu, 1.0).to(torch::kDouble);
  CHECK(log_uniform.min().item<double>() == 1);
  CHECK(log_uniform.max().item<double>() <= n);
  CHECK(log_uniform.mean().item<double>() == Approx(expected_mean).epsilon(0.03));
  CHECK((log_uniform == 1).to(torch::kDouble).mean().item<double>() ==
        Approx(std::log(2.0) / std::log(n + 1.0)).margin(0.01));
  // Half log-uniform, a quarter whole: the partial lengths' mean lies between the two draws' means.
  torch::manual_seed(7);
  const auto half = draw_kept_lengths(batch, n, 0.25, cpu, 0.5);
  CHECK((half == n).to(torch::kDouble).mean().item<double>() == Approx(0.25).margin(0.01));
  CHECK(half.masked_select(half < n).to(torch::kDouble).mean().item<double>() ==
        Approx((expected_mean + n / 2.0) / 2).epsilon(0.03));
  CHECK_THROWS_WITH(draw_kept_lengths(8, n, 0.25, cpu, -0.1), Catch::Contains("log-uniform fraction"));
}

TEST_CASE("The length-balanced log MSE is plain MSE's gradient reweighted by 1 / MSE within each octave") {
  torch::manual_seed(3);
  const int n = 256;
  const auto images = torch::rand({4, 3, 8, 8});
  // Samples 0 and 1 share the octave 4-7, sample 2 has length 1, sample 3 all 256 tokens.
  const auto kept = torch::tensor({5, 7, 1, 256}, torch::kInt64);
  auto noise = torch::randn({4, 3, 8, 8}) * torch::tensor({0.05, 0.2, 0.1, 0.02}).view({4, 1, 1, 1});
  auto recon = (images + noise).requires_grad_(true);

  LengthBalancedLogMse loss_of(n);
  const auto loss = loss_of(recon, images, kept);
  loss.backward();
  const auto mse = noise.pow(2).flatten(1).mean(1);

  // The first batch sets the octaves' means: 4-7 holds the mean of samples 0 and 1, 1 and 256 their own.
  const auto ref = loss_of.reference();
  REQUIRE(ref.size(0) == 9);
  CHECK(ref[2].item<double>() == Approx(((mse[0] + mse[1]) / 2).item<double>()));
  CHECK(ref[0].item<double>() == Approx(mse[2].item<double>()));
  CHECK(ref[8].item<double>() == Approx(mse[3].item<double>()));
  CHECK(ref[1].item<double>() == -1);  // no sample had 2-3 tokens
  const double expected = ((ref[2] * torch::log(mse[0]) + ref[2] * torch::log(mse[1]) +
                            ref[0] * torch::log(mse[2]) + ref[8] * torch::log(mse[3])) /
                           4)
                              .item<double>();
  CHECK(loss.item<double>() == Approx(expected));

  // Plain MSE's gradient: 2 * diff / (4 * 192) per value. A sample alone in its octave gets exactly that; in
  // the shared octave each sample's is scaled by ref / its MSE (the smaller error weighs more).
  const auto plain = 2 * noise / (4.0 * 3 * 8 * 8);
  const auto grad = recon.grad();
  CHECK(torch::allclose(grad[2], plain[2], 1e-4, 1e-7));
  CHECK(torch::allclose(grad[3], plain[3], 1e-4, 1e-7));
  CHECK(torch::allclose(grad[0], plain[0] * (ref[2] / mse[0]), 1e-4, 1e-7));
  CHECK(torch::allclose(grad[1], plain[1] * (ref[2] / mse[1]), 1e-4, 1e-7));
  CHECK((ref[2] / mse[0]).item<double>() > 1);

  // The next batch blends into the running means (momentum 0.99) and leaves absent octaves alone.
  const auto next = loss_of(images + 0.1, images, torch::tensor({5, 5, 5, 5}, torch::kInt64));
  CHECK(loss_of.reference()[2].item<double>() ==
        Approx(0.99 * ref[2].item<double>() + 0.01 * 0.01).epsilon(1e-4));
  CHECK(loss_of.reference()[8].item<double>() == Approx(ref[8].item<double>()));
  CHECK(std::isfinite(next.item<double>()));
}

TEST_CASE("Colour jitter changes the chosen crops' colours within [0, 1] and leaves the rest bit-identical") {
  const auto bank = smooth_bank(32);
  // Fraction 0 is the sampler of runs 1-11: the same crops from the same random numbers.
  std::mt19937 a(7), b(7);
  const auto plain = bank.sample(16, a);
  REQUIRE(torch::equal(bank.sample(16, b, 0.0), plain));
  REQUIRE(a() == b());

  // Fraction 1: every crop changes, stays in range and keeps its shape; the same seed gives the same crops.
  std::mt19937 c(7), d(7);
  const auto all = bank.sample(16, c, 1.0);
  REQUIRE(all.sizes() == plain.sizes());
  CHECK(all.min().item<float>() >= 0.0f);
  CHECK(all.max().item<float>() <= 1.0f);
  REQUIRE(torch::equal(bank.sample(16, d, 1.0), all));
  const auto changed = (all - plain).abs().flatten(1).amax(1);
  CHECK((changed > 1e-3).all().item<bool>());
  // The change is photometric: the crops' spatial structure stays (strongly correlated with the original).
  for (int64_t i = 0; i < all.size(0); ++i) {
    const auto x = plain[i].flatten() - plain[i].mean(), y = all[i].flatten() - all[i].mean();
    const double correlation = ((x * y).sum() / (x.norm() * y.norm() + 1e-12)).item<double>();
    CHECK(correlation > 0.8);
  }

  // A fraction in between changes some crops and leaves the others exactly as drawn.
  const auto images = torch::rand({400, 3, 4, 4});
  std::mt19937 e(11);
  const auto half = jitter_colours(images, e, 0.5);
  const auto same = (half == images).flatten(1).all(1);
  const double unchanged = same.to(torch::kDouble).mean().item<double>();
  CHECK(unchanged == Approx(0.5).margin(0.1));
  CHECK_THROWS_WITH(jitter_colours(images, e, 1.5), Catch::Contains("colour jitter fraction"));
}
