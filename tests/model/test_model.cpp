// Tests for model/: FSQ, the tiny random tokenizer's encode -> drop tail -> decode, model files, the trainer.
#define CATCH_CONFIG_MAIN
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "model/network.h"
#include "model/pixels.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "tests/catch_with_torch.h"
#include "tests/remove_tree.h"
#include "tests/tiny_model_config.h"
#include "train/fused_adamw.h"
#include "train/metrics.h"
#include "train/trainer.h"

using namespace odp::model;

namespace {

ModelConfig tiny_config() { return odp::testing::tiny_model_config(); }

std::vector<float> random_tiles(int n, int tile, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n) * 3 * tile * tile);
  for (auto& x : v) x = u(rng);
  return v;
}

std::string temp_path(const std::string& name) {
  // The process id keeps two test runs on one machine (a CI clone beside a checkout) out of each other's
  // files.
  return (std::filesystem::temp_directory_path() /
          ("odp_test_model_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::vector<uint8_t> random_bytes(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(count);
  for (auto& b : v) b = static_cast<uint8_t>(byte(rng));
  return v;
}

// A tiny random model whose output is centred in [0,1]: a plain random network's sits below 0 and would clamp
// every pixel to black, which would hide rounding differences.
std::unique_ptr<TileModel> centred_tiny_model(uint64_t seed) {
  torch::manual_seed(seed);
  TokenizerNet net(odp::testing::tiny_model_config());
  {
    torch::NoGradGuard no_grad;
    net->head->to_rgb->bias.fill_(0.5);
  }
  const std::string path = temp_path("centred.safetensors");
  save_network(path, net, torch::kFloat32);
  auto model = TileModel::load(path, Device::kCpu);
  std::remove(path.c_str());
  return model;
}

}  // namespace

TEST_CASE("FSQ indices and codes round-trip over the whole codebook") {
  FiniteScalarQuantizer fsq({8, 8, 8, 8});
  REQUIRE(fsq.codebook_size() == 4096);
  auto all = torch::arange(4096, torch::kInt64);
  auto codes = fsq.indices_to_codes(all);
  REQUIRE(codes.sizes() == torch::IntArrayRef({4096, 4}));
  REQUIRE(torch::equal(fsq.codes_to_indices(codes), all));
  // Codes are q / 4 with q in -4..3.
  REQUIRE(codes.min().item<float>() == Approx(-1.0));
  REQUIRE(codes.max().item<float>() == Approx(0.75));
}

TEST_CASE("FSQ quantize lands on the grid and passes gradients straight through") {
  FiniteScalarQuantizer fsq({8, 8, 8, 8});
  auto z = torch::randn({64, 4}).mul(3).set_requires_grad(true);
  auto q = fsq.quantize(z);
  auto scaled = q.detach() * 4;
  REQUIRE(torch::allclose(scaled, scaled.round()));
  q.sum().backward();
  REQUIRE(z.grad().abs().sum().item<float>() > 0);
}

// The gradients of the head's forward() (in its current form) for every weight and the input equal those of
// the literal upsample-then-convolve definition, for one random direction of the output.
void require_head_gradients_match_reference(UpsampleHead& head, const torch::Tensor& x) {
  torch::Tensor probe;
  auto grads_of = [&](const torch::Tensor& out) {
    if (!probe.defined()) probe = torch::randn_like(out);
    head->zero_grad();
    if (x.grad().defined()) x.mutable_grad().zero_();
    (out * probe).sum().backward();
    std::vector<torch::Tensor> g{x.grad().clone()};
    for (auto& p : head->parameters()) g.push_back(p.grad().clone());
    return g;
  };
  const auto g_form = grads_of(head->forward(x));
  const auto g_ref = grads_of(head->forward_reference(x));
  REQUIRE(g_form.size() == g_ref.size());
  for (size_t i = 0; i < g_ref.size(); ++i) {
    const float g_scale = g_ref[i].abs().max().item<float>();
    REQUIRE(g_scale > 0.f);
    REQUIRE((g_form[i] - g_ref[i]).abs().max().item<float>() < 1e-4f * g_scale);
  }
}

TEST_CASE(
    "the sub-pixel upsampling head computes the same function and gradients as upsample-then-convolve") {
  torch::manual_seed(3);
  UpsampleHead head(24, std::vector<int>{16, 8, 4});
  // Non-square input, channels-last like the decoder's, and a bias away from zero so a dropped bias would
  // show.
  auto x = torch::randn({2, 24, 5, 7}).contiguous(torch::MemoryFormat::ChannelsLast).set_requires_grad(true);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : head->parameters()) p.add_(torch::randn_like(p) * 0.3);
  }
  auto fast = head->forward(x);
  auto reference = head->forward_reference(x);
  REQUIRE(fast.sizes() == torch::IntArrayRef({2, 3, 40, 56}));
  REQUIRE(reference.sizes() == fast.sizes());
  const float scale = reference.abs().max().item<float>();
  REQUIRE(scale > 0.1f);
  REQUIRE((fast - reference).abs().max().item<float>() < 1e-5f * scale);

  {
    // Inference keeps the folded kernels between calls; changing a weight in place must refresh them.
    torch::NoGradGuard no_grad;
    REQUIRE((head->forward(x) - reference).abs().max().item<float>() < 1e-5f * scale);
    head->stages[1]->as<torch::nn::Conv2d>()->weight.mul_(-1.5);
    const auto changed_reference = head->forward_reference(x);
    REQUIRE((changed_reference - reference).abs().max().item<float>() > 0.01f * scale);
    REQUIRE((head->forward(x) - changed_reference).abs().max().item<float>() < 1e-5f * scale);
  }

  // Training goes through forward(): its gradients must match the definition's for every weight and the
  // input.
  require_head_gradients_match_reference(head, x);
}

TEST_CASE(
    "the transposed-convolution head computes the same function and gradients as upsample-then-convolve") {
  torch::manual_seed(4);
  UpsampleHead head(24, std::vector<int>{16, 8, 4});
  head->form = HeadForm::kTransposed;
  auto x = torch::randn({2, 24, 5, 7}).contiguous(torch::MemoryFormat::ChannelsLast).set_requires_grad(true);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : head->parameters()) p.add_(torch::randn_like(p) * 0.3);
  }
  const auto reference = head->forward_reference(x);
  const auto transposed = head->forward(x);
  REQUIRE(transposed.sizes() == reference.sizes());
  const float scale = reference.abs().max().item<float>();
  REQUIRE(scale > 0.1f);
  REQUIRE((transposed - reference).abs().max().item<float>() < 1e-5f * scale);
  // The sub-pixel form of the same head gives the same values (the two forms are interchangeable).
  head->form = HeadForm::kSubPixel;
  REQUIRE((head->forward(x) - transposed).abs().max().item<float>() < 1e-5f * scale);
  head->form = HeadForm::kTransposed;

  require_head_gradients_match_reference(head, x);
}

TEST_CASE("a transformer block computes the same function in training (three products) and inference (one)") {
  torch::manual_seed(6);
  TransformerBlock block(32, 4, 4, WeightInit::kRandom);
  const auto x = torch::randn({3, 10, 32});
  const auto training = block->forward(x.clone().requires_grad_(true));
  torch::Tensor inference;
  {
    torch::NoGradGuard no_grad;
    inference = block->forward(x);
  }
  REQUIRE(training.sizes() == inference.sizes());
  REQUIRE((training - x).abs().max().item<float>() > 0.01f);  // the block did something
  REQUIRE((training - inference).abs().max().item<float>() < 1e-5f);
}

TEST_CASE("fused AdamW and clipping follow LibTorch's AdamW and clip_grad_norm_") {
  // REQUIRE, not CHECK, in this file: LibTorch's glog headers define their own CHECK macro.
  torch::manual_seed(3);
  auto make = [] {
    return std::vector<torch::Tensor>{torch::randn({7, 5}), torch::randn({5}), torch::randn({2, 3, 4})};
  };
  const auto start = make();
  auto clone = [](const std::vector<torch::Tensor>& v) {
    std::vector<torch::Tensor> out;
    for (const auto& t : v) out.push_back(t.clone().set_requires_grad(true));
    return out;
  };
  auto ours = clone(start), reference = clone(start);
  FusedAdamW fused({{{ours[0], ours[2]}, 0.05}, {{ours[1]}, 0.0}}, 0.9, 0.95);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{reference[0], reference[2]},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).weight_decay(0.05)));
  groups.emplace_back(std::vector<torch::Tensor>{reference[1]},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(1e-2).betas({0.9, 0.95}).weight_decay(0.0)));
  torch::optim::AdamW adamw(groups);
  for (int step = 0; step < 6; ++step) {
    const double lr = 1e-2 * (step + 1) / 6.0;  // a changing rate, as under warm-up
    for (auto& group : adamw.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    const auto target = torch::randn({7, 5});
    auto loss_of = [&](const std::vector<torch::Tensor>& p) {
      return (p[0] - target).pow(2).sum() + p[1].pow(3).sum() + p[2].abs().sum() * 3;
    };
    fused.zero_grad();
    adamw.zero_grad();
    loss_of(ours).backward();
    loss_of(reference).backward();
    const auto norm = clip_grad_norm(ours, 1.0);
    const double reference_norm = torch::nn::utils::clip_grad_norm_(reference, 1.0);
    REQUIRE(norm.item<double>() == Approx(reference_norm).epsilon(1e-5));
    REQUIRE(reference_norm > 1.0);  // the clipping really scales
    fused.step(lr);
    adamw.step();
    for (size_t i = 0; i < ours.size(); ++i) REQUIRE(torch::allclose(ours[i], reference[i], 1e-5, 1e-6));
  }
  REQUIRE(fused.steps() == 6);
  CHECK_FALSE(torch::allclose(ours[0], start[0]));
}

TEST_CASE("config validation names the bad field") {
  ModelConfig c = tiny_config();
  c.head_channels = {16, 8};
  REQUIRE_THROWS_WITH(c.validate(), Catch::Contains("head_channels"));
  c = tiny_config();
  c.fsq_levels = {2, 8};
  REQUIRE_THROWS_WITH(c.validate(), Catch::Contains("fsq_levels"));
  c = tiny_config();
  c.num_tokens = 300;
  REQUIRE_THROWS_WITH(c.validate(), Catch::Contains("num_tokens"));
  REQUIRE(tiny_config().codebook_bits() == 12);
}

TEST_CASE("parameter_count is the number of parameters the network builds") {
  REQUIRE(tiny_config().parameter_count() ==
          count_parameters(*TokenizerNet(tiny_config(), WeightInit::kNone)));
  // The defaults are the shipped model's hyper-parameters (model/weights/odp.safetensors).
  const ModelConfig shipped;
  REQUIRE(shipped.parameter_count() == count_parameters(*TokenizerNet(shipped, WeightInit::kNone)));
  ModelConfig odd = tiny_config();  // every term moves: layers, ratio, levels, head stages
  odd.encoder_layers = 2;
  odd.decoder_layers = 3;
  odd.mlp_ratio = 3;
  odd.fsq_levels = {5, 5, 5};
  odd.patch_size = 4;
  odd.head_channels = {12, 6};
  REQUIRE(odd.parameter_count() == count_parameters(*TokenizerNet(odd, WeightInit::kNone)));
}

TEST_CASE("CPU decoding in bf16 stays close to fp32 and can be switched off") {
  const auto c = tiny_config();
  auto model = centred_tiny_model(5);  // a plain random network would clamp to black in both precisions
  const int n = 2;
  const auto tiles = random_tiles(n, c.tile_size, 4);
  const auto tokens = model->encode(tiles.data(), n);
  const std::vector<int> keep = {c.num_tokens, 3};
  const size_t floats = static_cast<size_t>(n) * 3 * c.tile_size * c.tile_size;
  std::vector<float> fp32(floats), bf16(floats);
  model->set_cpu_bf16_decode(false);
  REQUIRE_FALSE(model->cpu_bf16_decode());
  model->decode(tokens.data(), keep.data(), n, fp32.data());
  model->set_cpu_bf16_decode(true);  // emulated where the CPU lacks bf16: slower, same arithmetic
  REQUIRE(model->cpu_bf16_decode());
  model->decode(tokens.data(), keep.data(), n, bf16.data());
  double max_diff = 0, sum_sq = 0;
  for (size_t i = 0; i < floats; ++i) {
    const double d = std::abs(fp32[i] - bf16[i]);
    max_diff = std::max(max_diff, d);
    sum_sq += d * d;
  }
  const double psnr = -10 * std::log10(sum_sq / floats);
  INFO("bf16 vs fp32 decode: PSNR " << psnr << " dB, max |diff| " << max_diff);
  REQUIRE(max_diff > 0);  // the switch really changes the arithmetic
  REQUIRE(psnr > 35);     // and stays far below visible differences
  // The default follows the hardware only: the library reads no environment (the tools apply ODP_CPU_FP32).
  REQUIRE(TileModel::random(c, 5, Device::kCpu)->cpu_bf16_decode() == cpu_has_native_bf16());
}

TEST_CASE("tiny model: encode, drop the tail, decode") {
  const auto c = tiny_config();
  auto model = TileModel::random(c, 7, Device::kCpu);
  const int n = 3;
  auto tiles = random_tiles(n, c.tile_size, 1);
  auto tokens = model->encode(tiles.data(), n);
  REQUIRE(tokens.size() == static_cast<size_t>(n * c.num_tokens));
  for (auto t : tokens) REQUIRE(t < 4096);

  SECTION("encoding is deterministic") { REQUIRE(model->encode(tiles.data(), n) == tokens); }

  SECTION("every prefix length decodes to pixels in [0,1], deterministically") {
    std::vector<float> out(tiles.size()), again(tiles.size());
    for (int keep_all : {0, 1, 5, 16}) {
      std::vector<int> keep(n, keep_all);
      model->decode(tokens.data(), keep.data(), n, out.data());
      model->decode(tokens.data(), keep.data(), n, again.data());
      REQUIRE(out == again);
      for (float v : out) REQUIRE((v >= 0.f && v <= 1.f));
    }
  }

  SECTION("tokens past the prefix are ignored, tokens inside it change the output") {
    std::vector<int> keep(n, 4);
    std::vector<float> base(tiles.size()), changed_tail(tiles.size()), changed_head(tiles.size());
    model->decode(tokens.data(), keep.data(), n, base.data());
    auto tail = tokens;
    for (int t = 0; t < n; ++t)
      tail[t * c.num_tokens + 10] = static_cast<uint16_t>((tail[t * c.num_tokens + 10] + 1000) % 4096);
    model->decode(tail.data(), keep.data(), n, changed_tail.data());
    REQUIRE(changed_tail == base);
    auto head = tokens;
    for (int t = 0; t < n; ++t)
      head[t * c.num_tokens + 1] = static_cast<uint16_t>((head[t * c.num_tokens + 1] + 1000) % 4096);
    model->decode(head.data(), keep.data(), n, changed_head.data());
    double diff = 0;
    for (size_t i = 0; i < base.size(); ++i) diff += std::abs(base[i] - changed_head[i]);
    REQUIRE(diff > 0);
  }

  SECTION("bad requests are refused") {
    std::vector<float> out(tiles.size());
    std::vector<int> keep(n, 17);
    REQUIRE_THROWS_AS(model->decode(tokens.data(), keep.data(), n, out.data()), ModelError);
  }
}

TEST_CASE("bytes to floats and back as tensor ops follow the codec's rules to the bit") {
  const auto table = byte_unit_table(torch::kCPU);
  auto all = torch::arange(256, torch::kInt64).to(torch::kUInt8).view({4, 2, 32});
  const auto units = unit_from_bytes(all, table);
  REQUIRE(units.scalar_type() == torch::kFloat32);
  REQUIRE(units.sizes() == all.sizes());
  const float* u = units.contiguous().data_ptr<float>();
  for (int b = 0; b < 256; ++b) REQUIRE(u[b] == static_cast<uint8_t>(b) / 255.0f);
  // Back to bytes gives every byte again.
  REQUIRE(torch::equal(bytes_from_unit(units), all));

  // Floats around every rounding boundary (k + 0.5) / 255, a few ulps either way, beyond [0,1], and random
  // ones.
  std::vector<float> values = {0.0f, -0.0f, 1.0f, -1e-30f, -3.0f, 1.0000001f, 7.0f, INFINITY, -INFINITY};
  for (int k = 0; k < 255; ++k) {
    float v = (k + 0.5f) / 255.0f;
    for (int step = 0; step < 24; ++step) v = std::nextafter(v, 0.0f);
    for (int step = 0; step < 48; ++step, v = std::nextafter(v, 2.0f)) values.push_back(v);
  }
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> anywhere(-0.1f, 1.1f);
  for (int i = 0; i < 100000; ++i) values.push_back(anywhere(rng));
  // The set must hold exact halves at even k, where rounding halves to even (torch::round) would disagree.
  int even_halves = 0;
  for (float v : values) {
    const float scaled = std::clamp(v, 0.0f, 1.0f) * 255.0f;
    if (scaled - std::floor(scaled) == 0.5f && static_cast<int>(std::floor(scaled)) % 2 == 0) ++even_halves;
  }
  INFO("exact halves at even levels in the test set: " << even_halves);
  REQUIRE(even_halves > 0);
  const auto bytes = bytes_from_unit(torch::tensor(values, torch::kFloat32));
  REQUIRE(bytes.scalar_type() == torch::kUInt8);
  const uint8_t* out = bytes.data_ptr<uint8_t>();
  size_t wrong = 0;
  for (size_t i = 0; i < values.size(); ++i) wrong += out[i] != byte_from_unit(values[i]);
  REQUIRE(wrong == 0);
  // bf16 input (the GPU network's output type) is widened exactly first.
  const auto half_precision = torch::tensor(values, torch::kFloat32).to(torch::kBFloat16);
  REQUIRE(torch::equal(bytes_from_unit(half_precision), bytes_from_unit(half_precision.to(torch::kFloat32))));
}

TEST_CASE("TileModel's byte entry points give exactly what its float ones give, in batches") {
  auto model = centred_tiny_model(9);
  const auto& c = model->info().config;
  const int n = 2 * model->preferred_batch() + 1;  // several batches and a short last one
  const size_t values = static_cast<size_t>(n) * 3 * c.tile_size * c.tile_size;
  const auto bytes = random_bytes(values, 3);
  std::vector<float> floats(values);
  std::transform(bytes.begin(), bytes.end(), floats.begin(), unit_from_byte);
  const auto tokens = model->encode(floats.data(), n);
  REQUIRE(model->encode_bytes(bytes.data(), n) == tokens);

  std::vector<int> keep(n);
  for (int i = 0; i < n; ++i) keep[i] = i % (c.num_tokens + 1);
  for (bool bf16 : {false, true}) {
    model->set_cpu_bf16_decode(bf16);
    std::vector<float> decoded(values);
    std::vector<uint8_t> decoded_bytes(values);
    model->decode(tokens.data(), keep.data(), n, decoded.data());
    model->decode_bytes(tokens.data(), keep.data(), n, decoded_bytes.data());
    size_t wrong = 0, clamped = 0;
    for (size_t i = 0; i < values; ++i) {
      wrong += decoded_bytes[i] != byte_from_unit(decoded[i]);
      clamped += decoded_bytes[i] == 0 || decoded_bytes[i] == 255;
    }
    INFO("bf16 decode " << bf16 << ": " << clamped << " of " << values << " bytes at 0 or 255");
    REQUIRE(wrong == 0);
    REQUIRE(clamped < values / 2);  // the comparison is between real values, not clamped ones
  }
  std::vector<uint8_t> out(values);
  std::vector<int> too_many(n, c.num_tokens + 1);
  REQUIRE_THROWS_AS(model->decode_bytes(tokens.data(), too_many.data(), n, out.data()), ModelError);
  // The CPU holds one fp32 network for encoding and fp32 decoding, and no copy for any GPU precision.
  // Decoding in bf16 made the bf16 decoder's network, whose products' weights are bf16 and the rest fp32.
  const int64_t fp32_bytes = model->info().parameters * 4;
  REQUIRE(model->device_weight_bytes() > fp32_bytes + fp32_bytes / 2);
  REQUIRE(model->device_weight_bytes() < fp32_bytes + fp32_bytes);
  auto fp32_only = TileModel::random(c, 9, Device::kCpu);
  fp32_only->set_cpu_bf16_decode(false);
  fp32_only->decode_bytes(tokens.data(), keep.data(), n, out.data());
  REQUIRE(fp32_only->device_weight_bytes() == fp32_bytes);
}

TEST_CASE("model files keep weights and hyper-parameters; bad files are refused") {
  const auto c = tiny_config();
  torch::manual_seed(3);
  TokenizerNet net(c);
  const auto path = temp_path("weights.safetensors");
  std::vector<uint16_t> freqs(static_cast<size_t>(c.num_tokens) * c.codebook_size(),
                              16);  // 4096 * 16 = 65536
  const uint32_t id = save_network(path, net, torch::kFloat16, {{"train.samples", "42"}}, freqs);
  auto loaded = load_network(path);
  REQUIRE(loaded.info.model_id == id);
  REQUIRE(loaded.info.config.width == c.width);
  REQUIRE(loaded.info.config.head_channels == c.head_channels);
  REQUIRE(loaded.metadata.at("train.samples") == "42");
  REQUIRE(loaded.info.token_frequencies == freqs);
  auto a = net->named_parameters(), b = loaded.net->named_parameters();
  for (const auto& item : a) {
    const auto& other = b[item.key()];
    REQUIRE(torch::allclose(item.value().to(torch::kFloat16).to(torch::kFloat32), other));
  }
  // Saving the same weights again gives the same bytes, so the same id.
  REQUIRE(save_network(path, net, torch::kFloat16, {{"train.samples", "42"}}, freqs) == id);
  auto model = TileModel::load(path, Device::kCpu);
  REQUIRE(model->info().model_id == id);

  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  SECTION("a file cut anywhere is refused with a ModelError, never a crash") {
    for (size_t cut : {size_t(0), size_t(5), size_t(8), size_t(100), bytes.size() / 2, bytes.size() - 1}) {
      std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(cut));
      REQUIRE_THROWS_AS(parse_safetensors(part, "cut"), ModelError);
    }
  }
  SECTION("a missing hyper-parameter is named") {
    auto file = parse_safetensors(bytes, "x");
    file.metadata.erase("odp.width");
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    auto again = serialize_safetensors(file);
    out.write(reinterpret_cast<const char*>(again.data()), static_cast<std::streamsize>(again.size()));
    out.close();
    REQUIRE_THROWS_WITH(load_network(path), Catch::Contains("odp.width"));
  }
  SECTION("a missing file is named") {
    REQUIRE_THROWS_WITH(TileModel::load(temp_path("nope.safetensors"), Device::kCpu),
                        Catch::Contains("nope"));
  }
  std::remove(path.c_str());
}

TEST_CASE("metrics: PSNR of a known offset, MS-SSIM of identical images") {
  auto a = torch::rand({2, 3, 64, 64});
  auto b = (a + 0.1).clamp(0, 1.1);
  auto p = psnr_per_image(a, a + 0.1);
  REQUIRE(p[0].item<double>() == Approx(20.0).margin(1e-3));
  REQUIRE(ms_ssim(a, a)[0].item<double>() == Approx(1.0).margin(1e-4));
  REQUIRE(ms_ssim(a, torch::rand({2, 3, 64, 64}))[0].item<double>() < 0.5);
}

TEST_CASE("a short training run lowers the loss and writes a loadable checkpoint") {
  const auto c = tiny_config();
  ImageBank bank(c.tile_size, torch::kCPU);
  // A smooth synthetic photo: learnable in a few steps, unlike noise.
  const int w = 80, h = 48;
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < 3; ++ch)
        rgb[(static_cast<size_t>(y) * w + x) * 3 + ch] =
            static_cast<uint8_t>((x * 3 + y * (ch + 1) * 2) % 256);
  bank.add(rgb.data(), w, h);
  TrainOptions o;
  o.config = c;
  o.batch = 8;
  o.max_steps = 150;
  o.minutes = 0;
  o.warmup_steps = 10;
  o.eval_every = 0;
  o.device = "cpu";
  o.out_dir = temp_path("run");
  odp::testing::remove_tree(o.out_dir);
  auto eval = torch::stack({eval_crop(rgb.data(), w, h, c.tile_size)}, 0);
  torch::manual_seed(5);
  auto before_net = TokenizerNet(c);
  const double before = evaluate(before_net, eval, false, false).rows.back().psnr;
  train(o, bank, eval);
  auto trained = load_network(o.out_dir + "/checkpoint-fp16.safetensors");
  auto result = evaluate(trained.net, eval, true, false);
  REQUIRE(result.rows.size() == 5);  // 1, 2, 4, 8, 16 tokens
  REQUIRE(result.contribution.size() == 16);
  REQUIRE(result.rows.back().psnr > before + 3.0);
  REQUIRE(std::stoll(trained.metadata.at("train.samples")) == 150 * 8);

  // Resuming from the checkpoint (as the next GPU lease does) keeps the weights and counts the samples on.
  TrainOptions resume = o;
  resume.init_model = o.out_dir + "/checkpoint-fp16.safetensors";
  resume.out_dir = temp_path("run_resumed");
  resume.max_steps = 20;
  odp::testing::remove_tree(resume.out_dir);
  train(resume, bank, eval);
  auto resumed = load_network(resume.out_dir + "/checkpoint-fp16.safetensors");
  REQUIRE(std::stoll(resumed.metadata.at("train.samples")) == 170 * 8);
  REQUIRE(evaluate(resumed.net, eval, false, false).rows.back().psnr > before + 3.0);
  odp::testing::remove_tree(resume.out_dir);
  odp::testing::remove_tree(o.out_dir);
}
