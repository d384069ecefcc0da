// Training loop (Tail Token Drop, AdamW, EMA, optional patch-GAN stage), data sampling and evaluation.
#include "train/trainer.h"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "model/model_file.h"
#include "model/model_flops.h"
#include "model/weights.h"
#include "train/fused_adamw.h"
#include "train/lpips.h"
#include "train/metrics.h"

namespace odp::model {
namespace {

namespace F = torch::nn::functional;

// Resizes [B,C,H,W] floats; antialiasing (LibTorch >= 2) matters when shrinking whole photos to a tile.
torch::Tensor resize(const torch::Tensor& x, int64_t h, int64_t w, bool bicubic) {
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).align_corners(false);
  if (bicubic) {
    options.mode(torch::kBicubic);
  } else {
    options.mode(torch::kBilinear);
  }
#if TORCH_VERSION_MAJOR >= 2
  options.antialias(true);
#endif
  return F::interpolate(x, options);
}

double elapsed_seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

void ImageBank::add(const uint8_t* rgb, int width, int height) {
  auto img =
      torch::from_blob(const_cast<uint8_t*>(rgb), {height, width, 3}, torch::kUInt8).permute({2, 0, 1});
  const int short_side = std::min(width, height);
  if (short_side < tile_size_) {
    // Small photos are enlarged once so every crop position is valid.
    const double s = static_cast<double>(tile_size_) / short_side;
    const int64_t h = std::max<int64_t>(tile_size_, std::lround(height * s));
    const int64_t w = std::max<int64_t>(tile_size_, std::lround(width * s));
    img = resize(img.unsqueeze(0).to(torch::kFloat32), h, w, true)
              .squeeze(0)
              .round()
              .clamp(0, 255)
              .to(torch::kUInt8);
  }
  images_.push_back(img.contiguous().to(device_));
}

torch::Tensor ImageBank::sample(int batch, std::mt19937& rng, double colour_jitter_fraction) const {
  if (images_.empty()) throw ModelError("no training images");
  std::vector<torch::Tensor> crops;
  crops.reserve(batch);
  const int T = tile_size_;
  for (int b = 0; b < batch; ++b) {
    const auto& img = images_[std::uniform_int_distribution<size_t>(0, images_.size() - 1)(rng)];
    const int H = static_cast<int>(img.size(1)), W = static_cast<int>(img.size(2));
    const int short_side = std::min(H, W);
    // Half the crops take the whole short side (a scene shrunk to one tile, as in the evaluation set),
    // the rest a random size between one tile and the short side.
    int side = short_side;
    if (std::uniform_int_distribution<int>(0, 1)(rng) == 0)
      side = std::uniform_int_distribution<int>(T, short_side)(rng);
    const int y0 = std::uniform_int_distribution<int>(0, H - side)(rng);
    const int x0 = std::uniform_int_distribution<int>(0, W - side)(rng);
    auto crop = img.slice(1, y0, y0 + side).slice(2, x0, x0 + side).unsqueeze(0).to(torch::kFloat32) / 255.0;
    if (side != T) crop = resize(crop, T, T, false);
    if (std::uniform_int_distribution<int>(0, 1)(rng) == 1) crop = crop.flip({3});
    crops.push_back(crop);
  }
  return jitter_colours(torch::cat(crops, 0).clamp(0.0, 1.0), rng, colour_jitter_fraction);
}

torch::Tensor jitter_colours(const torch::Tensor& images, std::mt19937& rng, double fraction) {
  if (!(fraction >= 0 && fraction <= 1)) throw ModelError("colour jitter fraction outside [0, 1]");
  if (fraction == 0) return images;
  const int64_t B = images.size(0);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const auto symmetric = [&](float half_width) { return (2 * unit(rng) - 1) * half_width; };
  const float log_range = std::log(1.18f);  // gamma and contrast: [1 / 1.18, 1.18] ~ [0.85, 1.18]
  std::vector<float> chosen(B), gains(B * 3), gammas(B), contrasts(B), offsets(B), saturations(B);
  for (int64_t b = 0; b < B; ++b) {
    chosen[b] = unit(rng) < fraction ? 1.0f : 0.0f;
    for (int c = 0; c < 3; ++c) gains[b * 3 + c] = std::exp(symmetric(0.05f));
    gammas[b] = std::exp(symmetric(log_range));
    contrasts[b] = std::exp(symmetric(log_range));
    offsets[b] = symmetric(0.08f);
    saturations[b] = 0.75f + unit(rng) * (1.3f - 0.75f);
  }
  const auto per_image = [&](const std::vector<float>& v, int64_t channels) {
    return torch::from_blob(const_cast<float*>(v.data()), {B, channels, 1, 1}, torch::kFloat32)
        .clone()
        .to(images.device());
  };
  const auto x = images.to(torch::kFloat32);
  // Gamma first, while every value is in [0, 1] (pow of a negative base is NaN), then gains, saturation,
  // contrast and brightness; one clamp at the end brings the result back into range.
  auto y = x.clamp_min(0).pow(per_image(gammas, 1)) * per_image(gains, 3);
  const auto luma = (y.select(1, 0) * 0.299 + y.select(1, 1) * 0.587 + y.select(1, 2) * 0.114).unsqueeze(1);
  y = luma + (y - luma) * per_image(saturations, 1);
  const auto mean = y.mean({1, 2, 3}, true);
  y = (mean + (y - mean) * per_image(contrasts, 1) + per_image(offsets, 1)).clamp(0.0, 1.0);
  return torch::where(per_image(chosen, 1) > 0.5f, y.to(images.scalar_type()), images);
}

torch::Tensor eval_crop(const uint8_t* rgb, int width, int height, int tile_size) {
  auto img = torch::from_blob(const_cast<uint8_t*>(rgb), {height, width, 3}, torch::kUInt8)
                 .permute({2, 0, 1})
                 .unsqueeze(0)
                 .to(torch::kFloat32);
  if (std::min(width, height) != tile_size) {
    const double s = static_cast<double>(tile_size) / std::min(width, height);
    img = resize(img, std::max<int64_t>(tile_size, std::lround(height * s)),
                 std::max<int64_t>(tile_size, std::lround(width * s)), true);
  }
  const int64_t y0 = (img.size(2) - tile_size) / 2, x0 = (img.size(3) - tile_size) / 2;
  img = img.slice(2, y0, y0 + tile_size).slice(3, x0, x0 + tile_size);
  return (img.round().clamp(0, 255) / 255.0).squeeze(0).contiguous();
}

std::string EvalResult::table_markdown() const {
  std::ostringstream out;
  out << "| tokens | PSNR (dB) | MS-SSIM |\n|---:|---:|---:|\n" << std::fixed;
  for (const auto& r : rows)
    out << "| " << r.tokens << " | " << std::setprecision(2) << r.psnr << " | " << std::setprecision(4)
        << r.ms_ssim << " |\n";
  out << "\ncodebook use: " << std::setprecision(1) << 100.0 * codebook_use << "%\n";
  if (!contribution.empty()) {
    out << "\ntoken contribution (mean |L1 change| x 1000 when one token is replaced by a random code):\n";
    out << "| positions | mean |\n|---|---:|\n";
    const int n = static_cast<int>(contribution.size());
    for (int lo = 0, hi = 1; lo < n; lo = hi, hi = std::min(n, hi * 2)) {
      double s = 0;
      for (int i = lo; i < hi; ++i) s += contribution[i];
      out << "| " << lo << ".." << hi - 1 << " | " << std::setprecision(3) << 1000.0 * s / (hi - lo)
          << " |\n";
    }
  }
  return out.str();
}

EvalResult evaluate(TokenizerNet& net, const torch::Tensor& images, bool with_contribution, bool autocast,
                    const torch::Tensor& given_indices) {
  torch::NoGradGuard no_grad;
  const bool was_training = net->is_training();
  net->eval();
  AutocastBf16 ac(autocast);
  const auto device = net->parameters().front().device();
  const int64_t E = images.size(0), N = net->config.num_tokens, chunk = 32;
  std::vector<torch::Tensor> parts;
  if (given_indices.defined()) parts.push_back(given_indices.to(torch::kCPU, torch::kInt64));
  for (int64_t s = 0; s < E && !given_indices.defined(); s += chunk)
    parts.push_back(
        net->encode_indices(images.slice(0, s, std::min(E, s + chunk)).to(device)).to(torch::kCPU));
  const auto indices = torch::cat(parts, 0);
  auto decode_all = [&](const torch::Tensor& idx, int64_t keep) {
    std::vector<torch::Tensor> out;
    for (int64_t s = 0; s < E; s += chunk) {
      auto part = idx.slice(0, s, std::min(E, s + chunk)).to(device);
      auto k = torch::full({part.size(0)}, keep, torch::TensorOptions().dtype(torch::kInt64).device(device));
      out.push_back(net->decode_indices(part, k).to(torch::kFloat32).clamp(0.0, 1.0).to(torch::kCPU));
    }
    return torch::cat(out, 0);
  };
  EvalResult result;
  for (int64_t k = 1;; k = std::min(N, k * 2)) {
    auto recon = decode_all(indices, k);
    result.rows.push_back({static_cast<int>(k), psnr_per_image(recon, images).mean().item<double>(),
                           ms_ssim(recon, images).mean().item<double>()});
    if (k == N) break;
  }
  result.codebook_use =
      static_cast<double>(std::get<0>(at::_unique(indices.flatten())).numel()) / net->config.codebook_size();
  if (with_contribution) {
    auto base = decode_all(indices, N);
    auto gen = at::detail::createCPUGenerator(1234);
    for (int64_t i = 0; i < N; ++i) {
      auto changed = indices.clone();
      changed.select(1, i).copy_(torch::randint(net->config.codebook_size(), {E}, gen, torch::kInt64));
      result.contribution.push_back((decode_all(changed, N) - base).abs().mean().item<double>());
    }
  }
  net->train(was_training);
  return result;
}

namespace {

// PatchGAN discriminator (Isola et al. 2017), trained from scratch for the adversarial stage.
struct PatchDiscriminatorImpl : torch::nn::Module {
  PatchDiscriminatorImpl() {
    layers = register_module(
        "layers",
        torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 4).stride(2).padding(1)),
                              torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 128, 4).stride(2).padding(1)),
                              torch::nn::GroupNorm(torch::nn::GroupNormOptions(32, 128)),
                              torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(128, 256, 4).stride(2).padding(1)),
                              torch::nn::GroupNorm(torch::nn::GroupNormOptions(32, 256)),
                              torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(256, 1, 3).padding(1))));
  }
  torch::Tensor forward(const torch::Tensor& x) { return layers->forward(x * 2.0 - 1.0); }
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

// Milliseconds per call of fn on the GPU (synchronised around the repeats), after one warm-up call: the first
// call of a new shape or mode may tune or allocate.
double timed_ms(const std::function<void()>& fn, int repeats = 5) {
  fn();
  torch::cuda::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) fn();
  torch::cuda::synchronize();
  return 1000.0 * elapsed_seconds(t0) / repeats;
}

// Where a training step's time goes, measured once per run (GPU synchronised around each part), so that the
// log says what to speed up next. The parts are re-run on fresh data; the optimizer is not stepped. Also
// times the head's two forms (the same function) in training and leaves the faster in net->head->form when
// choose_head_form is set.
std::string profile_step(TokenizerNet& net, const ImageBank& bank, int batch, std::mt19937& rng,
                         bool choose_head_form) {
  const auto device = net->parameters().front().device();
  const auto images = bank.sample(batch, rng);
  const auto keep = torch::full({batch}, net->config.num_tokens,
                                torch::TensorOptions().dtype(torch::kInt64).device(device));
  const double sample_ms = timed_ms([&] { bank.sample(batch, rng); });
  torch::Tensor codes;
  const double encode_ms = timed_ms([&] {
    torch::NoGradGuard no_grad;
    AutocastBf16 ac(true);
    codes = net->encode_codes(images);
  });
  const double decode_ms = timed_ms([&] {
    torch::NoGradGuard no_grad;
    AutocastBf16 ac(true);
    net->decode_codes(codes, keep);
  });
  const int grid = net->config.tile_size / net->config.patch_size;
  const auto head_input =
      torch::randn({batch, grid, grid, net->config.width}, images.options()).permute({0, 3, 1, 2});
  const double head_ms = timed_ms([&] {
    torch::NoGradGuard no_grad;
    AutocastBf16 ac(true);
    net->head->forward(head_input);
  });
  // Training passes of the parts: fwd+bwd of the head per form, of one transformer block, of attention alone.
  auto head_train_ms = [&](HeadForm form) {
    const HeadForm before = net->head->form;
    net->head->form = form;
    const auto input = head_input.detach().requires_grad_(true);
    const double ms = timed_ms([&] {
      AutocastBf16 ac(true);
      net->head->forward(input).to(torch::kFloat32).pow(2).mean().backward();
    });
    net->head->form = before;
    return ms;
  };
  const double head_sub_pixel_ms = head_train_ms(HeadForm::kSubPixel);
  const double head_transposed_ms = head_train_ms(HeadForm::kTransposed);
  if (choose_head_form)
    net->head->form = head_transposed_ms < head_sub_pixel_ms ? HeadForm::kTransposed : HeadForm::kSubPixel;
  const int64_t sequence = static_cast<int64_t>(grid) * grid + net->config.num_tokens;
  const auto block_input =
      torch::randn({batch, sequence, net->config.width}, images.options()).requires_grad_(true);
  auto& block = *net->encoder_blocks[0]->as<TransformerBlock>();
  const double block_ms = timed_ms([&] {
    AutocastBf16 ac(true);
    block.forward(block_input).to(torch::kFloat32).pow(2).mean().backward();
  });
  const int64_t heads = net->config.heads, head_dim = net->config.width / heads;
  const auto qkv_options = images.options().dtype(torch::kBFloat16);
  const auto q = torch::randn({batch, heads, sequence, head_dim}, qkv_options).requires_grad_(true);
  const auto k = torch::randn_like(q).requires_grad_(true), v = torch::randn_like(q).requires_grad_(true);
  const double attention_ms = timed_ms([&] {
#if TORCH_VERSION_MAJOR >= 2
    at::scaled_dot_product_attention(q, k, v).to(torch::kFloat32).pow(2).mean().backward();
#endif
  });
  const double train_ms = timed_ms([&] {
    AutocastBf16 ac(true);
    auto loss =
        (net->decode_codes(net->encode_codes(images), keep).to(torch::kFloat32) - images).pow(2).mean();
    loss.backward();
  });
  net->zero_grad();
  // What a bf16 residual stream (weights and every activation in bf16, no autocast) would cost: a measure of
  // the fp32 round trips autocast makes, not a path training takes.
  double bf16_ms = 0;
  {
    auto copy = network_copy(net, device, torch::kBFloat16);
    copy->train();
    copy->head->form = net->head->form;
    for (auto& p : copy->parameters()) p.set_requires_grad(true);
    const auto images_bf16 = images.to(torch::kBFloat16);
    bf16_ms = timed_ms([&] {
      (copy->decode_codes(copy->encode_codes(images_bf16), keep) - images_bf16)
          .to(torch::kFloat32)
          .pow(2)
          .mean()
          .backward();
    });
  }
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << "# profile (ms per batch of " << batch << "): sample "
      << sample_ms << ", encode fwd " << encode_ms << ", decode fwd " << decode_ms << " (head " << head_ms
      << "), fwd+bwd " << train_ms << "\n# profile fwd+bwd parts: head sub-pixel " << head_sub_pixel_ms
      << ", head transposed " << head_transposed_ms << ", one transformer block " << block_ms << " (x"
      << net->config.encoder_layers + net->config.decoder_layers << "), its attention alone " << attention_ms
      << "; whole network in bf16 without "
      << "autocast " << bf16_ms << "; head form in training: "
      << (net->head->form == HeadForm::kTransposed ? "transposed" : "sub-pixel");
  return out.str();
}

// Records `steps` calls of step() with the Kineto profiler (CPU ops and CUDA kernels) into a Chrome trace.
// Profiling is a diagnostic: any failure is reported in the returned line and training goes on.
std::string trace_steps(const std::string& path, int steps, const std::function<void()>& step) {
  namespace profiler = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  try {
    const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
    const std::set<ActivityType> activities{ActivityType::CPU, ActivityType::CUDA};
    profiler::prepareProfiler(config, activities);
    profiler::enableProfiler(config, activities);
    for (int i = 0; i < steps; ++i) step();
    torch::cuda::synchronize();
    profiler::disableProfiler()->save(path);
    return "# trace of " + std::to_string(steps) + " steps written to " + path;
  } catch (const std::exception& e) {
    return std::string("# trace failed: ") + e.what();
  }
}

void copy_parameters(TokenizerNet& from, TokenizerNet& to) {
  torch::NoGradGuard no_grad;
  auto src = from->parameters(), dst = to->parameters();
  for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
}

// Warm-up from `start`, then cosine decay to min_ratio * lr at `total` (all in global steps).
struct Schedule {
  double lr = 1e-3, min_ratio = 0.05;
  int64_t start = 0, warmup = 0, total = 1;
  double at(int64_t step) const {
    const int64_t s = step - start;
    if (s < warmup) return lr * (s + 1) / static_cast<double>(warmup);
    const double t =
        std::min(1.0, (s - warmup) / static_cast<double>(std::max<int64_t>(1, total - start - warmup)));
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + std::cos(M_PI * t)));
  }
};

// The train-state file: tensors "net.<p>" (weights), "ema.<p>", "adam.m.<p>", "adam.v.<p>" for every
// parameter p, "rng.torch" (the training device's generator state, U8); metadata: the config plus "state.*"
// (below).
struct TrainState {
  int64_t step = 0, samples = 0, adam_steps = 0;
  Schedule schedule;
  std::string host_rng;  // std::mt19937's text form
  double seconds = 0;    // training time of all runs so far
};

std::string number_text(double v) {
  std::ostringstream out;
  out << std::setprecision(17) << v;
  return out.str();
}

int64_t state_integer(const std::map<std::string, std::string>& meta, const std::string& key,
                      const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) throw ModelError(path + ": train state lacks '" + key + "'");
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    throw ModelError(path + ": train state field '" + key + "' is not an integer");
  }
}

double state_number(const std::map<std::string, std::string>& meta, const std::string& key,
                    const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) throw ModelError(path + ": train state lacks '" + key + "'");
  try {
    return std::stod(it->second);
  } catch (const std::exception&) {
    throw ModelError(path + ": train state field '" + key + "' is not a number");
  }
}

torch::Generator& device_generator(const torch::Device& device) {
  return const_cast<torch::Generator&>(at::globalContext().defaultGenerator(device));
}

}  // namespace

const char* const kTrainStateFile = "train-state.safetensors";

SafetensorsFile slim_train_state(const SafetensorsFile& state) {
  SafetensorsFile slim;
  slim.metadata = state.metadata;
  for (const auto& [name, blob] : state.tensors)
    if (name.rfind("net.", 0) != 0 && name.rfind("ema.", 0) != 0) slim.tensors.emplace(name, blob);
  slim.metadata["state.slim"] = "weights left out: they come from the model file this state belongs to";
  return slim;
}

torch::Tensor draw_kept_lengths(int64_t batch, int num_tokens, double full_length_fraction,
                                const torch::Device& device, double log_uniform_fraction) {
  if (!(full_length_fraction >= 0 && full_length_fraction <= 1))
    throw std::invalid_argument("the full-length fraction must be in [0, 1]");
  if (!(log_uniform_fraction >= 0 && log_uniform_fraction <= 1))
    throw std::invalid_argument("the log-uniform fraction must be in [0, 1]");
  const auto options = torch::TensorOptions().dtype(torch::kInt64).device(device);
  const auto real = torch::TensorOptions().device(device);
  auto keep = torch::randint(1, num_tokens + 1, {batch}, options);
  if (log_uniform_fraction > 0) {
    // floor(exp(u ln(N + 1))) for u in [0, 1) is k in 1..N with P(k) = ln((k + 1) / k) / ln(N + 1).
    const auto u = torch::rand({batch}, real.dtype(torch::kDouble));
    const auto log_uniform =
        torch::exp(u * std::log(num_tokens + 1.0)).floor().clamp(1, num_tokens).to(torch::kInt64);
    keep = torch::where(torch::rand({batch}, real) < log_uniform_fraction, log_uniform, keep);
  }
  if (full_length_fraction == 0) return keep;
  const auto full = torch::rand({batch}, real) < full_length_fraction;
  return torch::where(full, torch::full({batch}, num_tokens, options), keep);
}

LengthBalancedLogMse::LengthBalancedLogMse(int num_tokens, double momentum)
    : momentum_(momentum), octaves_(1 + static_cast<int>(std::floor(std::log2(std::max(1, num_tokens))))) {
  if (!(momentum >= 0 && momentum < 1)) throw ModelError("the log-MSE loss's momentum must be in [0, 1)");
}

torch::Tensor LengthBalancedLogMse::operator()(const torch::Tensor& recon, const torch::Tensor& images,
                                               const torch::Tensor& kept) {
  const auto mse = (recon.to(torch::kFloat32) - images.to(torch::kFloat32)).pow(2).flatten(1).mean(1);
  // floor(log2(k)) exactly, from the integers (a float log2 of 2^j may land just below j).
  auto octave = torch::zeros_like(kept);
  for (int j = 1; j < octaves_; ++j) octave = octave + (kept >= (int64_t{1} << j)).to(kept.scalar_type());
  {
    torch::NoGradGuard no_grad;
    const auto options = mse.options();
    if (!reference_.defined()) reference_ = torch::full({octaves_}, -1.0, options);
    const auto sums = torch::zeros({octaves_}, options).scatter_add(0, octave, mse.detach());
    const auto counts = torch::zeros({octaves_}, options).scatter_add(0, octave, torch::ones_like(mse));
    const auto batch_mean = sums / counts.clamp_min(1);
    const auto blended =
        torch::where(reference_ < 0, batch_mean, momentum_ * reference_ + (1 - momentum_) * batch_mean);
    reference_ = torch::where(counts > 0, blended, reference_);
  }
  return (reference_.index_select(0, octave) * torch::log(mse.clamp_min(1e-10))).mean();
}

void train(const TrainOptions& o, const ImageBank& bank, const torch::Tensor& eval_images) {
  const Device dev = parse_device(o.device);
  const bool cuda = dev == Device::kCuda;
  // Fixed shapes every step: let cuDNN time its convolution algorithms once and keep the fastest.
  if (cuda) at::globalContext().setBenchmarkCuDNN(true);
  const torch::Device device(cuda ? torch::kCUDA : torch::kCPU);
  if (o.state_dtype != torch::kFloat32 && o.state_dtype != torch::kBFloat16)
    throw ModelError("the train state is stored as fp32 or bf16");
  if (o.head_form != "auto" && o.head_form != "sub-pixel" && o.head_form != "transposed")
    throw ModelError("head form '" + o.head_form + "': use auto, sub-pixel or transposed");
  // The perceptual loss's network (frozen), loaded first so that a bad or missing file stops the run at once.
  std::optional<LpipsNet> lpips;
  if (o.lpips_weight > 0) {
    if (o.lpips_path.empty())
      throw ModelError("an LPIPS loss weight needs an LPIPS weights file (lpips_path)");
    lpips.emplace(o.lpips_path, device);
  }
  std::filesystem::create_directories(o.out_dir);
  std::ofstream log_file(o.out_dir + "/log.tsv", std::ios::app);
  auto log = [&](const std::string& line) {
    std::cout << line << std::endl;
    log_file << line << std::endl;
  };

  torch::manual_seed(o.seed);
  std::mt19937 rng(static_cast<uint32_t>(o.seed));
  TokenizerNet net{nullptr};
  int64_t prior_samples = 0;
  std::optional<SafetensorsFile> resumed;
  TrainState resumed_state;
  bool state_has_weights = false;
  if (!o.resume_state.empty()) {
    const auto& path = o.resume_state;
    resumed = parse_safetensors(read_model_bytes(path), path);
    const auto& meta = resumed->metadata;
    resumed_state.step = state_integer(meta, "state.step", path);
    resumed_state.samples = state_integer(meta, "state.samples", path);
    resumed_state.adam_steps = state_integer(meta, "state.adam_steps", path);
    resumed_state.schedule.lr = state_number(meta, "state.lr", path);
    resumed_state.schedule.min_ratio = state_number(meta, "state.min_lr_ratio", path);
    resumed_state.schedule.start = state_integer(meta, "state.schedule_start", path);
    resumed_state.schedule.warmup = state_integer(meta, "state.warmup", path);
    resumed_state.schedule.total = state_integer(meta, "state.total_steps", path);
    resumed_state.seconds = state_number(meta, "state.seconds", path);
    auto rng_text = meta.find("state.host_rng");
    if (rng_text == meta.end()) throw ModelError(path + ": train state lacks 'state.host_rng'");
    resumed_state.host_rng = rng_text->second;
    const ModelConfig state_config = config_from_metadata(meta, path);
    state_has_weights =
        resumed->tensors.count(
            "net." + TokenizerNet(state_config, WeightInit::kNone)->named_parameters().begin()->key()) != 0;
    if (state_has_weights) {
      if (!o.init_model.empty())
        throw ModelError(path + " holds its own weights: resume it without a model file (init_model)");
      net = TokenizerNet(state_config, WeightInit::kNone);
    } else {
      // A slim state (moments and schedule only, see slim_train_state): the weights, for the network and its
      // EMA alike, come from the model file the state was saved beside.
      if (o.init_model.empty())
        throw ModelError(path +
                         " holds no weights (a slim state): give the model file it belongs to as init_model");
      net = load_network(o.init_model).net;
      if (config_to_metadata(net->config) != config_to_metadata(state_config))
        throw ModelError(o.init_model + " has another configuration than the train state " + path);
    }
    prior_samples = resumed_state.samples;
  } else if (!o.init_model.empty()) {
    auto loaded = load_network(o.init_model);
    net = loaded.net;
    if (auto it = loaded.metadata.find("train.samples"); it != loaded.metadata.end())
      prior_samples = std::stoll(it->second);
    log("# started from " + o.init_model + " (" + std::to_string(prior_samples) +
        " samples seen before); re-warm-up");
  } else {
    net = TokenizerNet(o.config);
  }
  const ModelConfig config = net->config;
  if (lpips && config.tile_size < LpipsNet::kMinSide)
    throw ModelError("the LPIPS loss needs tiles of at least " + std::to_string(LpipsNet::kMinSide) +
                     " pixels; these are " + std::to_string(config.tile_size));
  TokenizerNet ema(config, state_has_weights ? WeightInit::kNone : WeightInit::kRandom);
  if (!state_has_weights) copy_parameters(net, ema);
  net->to(device);
  ema->to(device);
  net->train();
  for (auto& p : ema->parameters()) p.set_requires_grad(false);
  if (o.head_form == "transposed") net->head->form = HeadForm::kTransposed;
  log("# parameters: " + std::to_string(count_parameters(*net)) + ", device: " + (cuda ? "cuda" : "cpu") +
      ", batch " + std::to_string(o.batch) + ", lr " + std::to_string(o.lr) +
      ", kept lengths: " + std::to_string(o.full_length_fraction) + " full, of the rest " +
      std::to_string(o.log_uniform_fraction) + " log-uniform; colour jitter " +
      std::to_string(o.colour_jitter_fraction) + ", weight decay " + std::to_string(o.weight_decay) +
      ", min lr ratio " + std::to_string(o.min_lr_ratio) + "; loss: MSE " + std::to_string(o.mse_weight) +
      ", log MSE " + std::to_string(o.log_mse_weight) + ", L1 " + std::to_string(o.l1_weight) + ", MS-SSIM " +
      std::to_string(o.ms_ssim_weight));
  if (lpips) log("# LPIPS loss, weight " + std::to_string(o.lpips_weight) + ", weights " + lpips->path());

  // Matrices decay; norms, biases, embeddings and tokens do not.
  std::vector<torch::Tensor> decay, no_decay;
  std::vector<std::string> decay_names, no_decay_names;
  for (const auto& item : net->named_parameters()) {
    const bool is_matrix = item.value().dim() >= 2 && item.key().find("pos") == std::string::npos &&
                           item.key().find("token") == std::string::npos &&
                           item.key().find("queries") == std::string::npos;
    (is_matrix ? decay : no_decay).push_back(item.value());
    (is_matrix ? decay_names : no_decay_names).push_back(item.key());
  }
  FusedAdamW optimizer({{decay, o.weight_decay}, {no_decay, 0.0}}, 0.9, 0.95);
  const std::vector<std::string>* group_names[2] = {&decay_names, &no_decay_names};

  if (resumed) {
    const auto& path = o.resume_state;
    auto restore = [&](const std::string& key, const torch::Tensor& into) {
      auto it = resumed->tensors.find(key);
      if (it == resumed->tensors.end()) throw ModelError(path + ": train state lacks tensor '" + key + "'");
      const auto value = tensor_from_blob(it->second, key);
      if (value.sizes() != into.sizes())
        throw ModelError(path + ": tensor '" + key + "' has the wrong shape");
      torch::NoGradGuard no_grad;
      into.copy_(value);
    };
    if (state_has_weights) {
      auto ema_named = ema->named_parameters();
      for (const auto& item : net->named_parameters()) {
        restore("net." + item.key(), item.value());
        restore("ema." + item.key(), ema_named[item.key()]);
      }
    }
    for (size_t g = 0; g < 2; ++g)
      for (size_t i = 0; i < group_names[g]->size(); ++i) {
        restore("adam.m." + (*group_names[g])[i], optimizer.exp_avg(g, i));
        restore("adam.v." + (*group_names[g])[i], optimizer.exp_avg_sq(g, i));
      }
    optimizer.set_steps(resumed_state.adam_steps);
    std::istringstream(resumed_state.host_rng) >> rng;
    auto it = resumed->tensors.find("rng.torch");
    if (it == resumed->tensors.end()) throw ModelError(path + ": train state lacks tensor 'rng.torch'");
    try {
      device_generator(device).set_state(tensor_from_blob(it->second, "rng.torch"));
    } catch (const c10::Error&) {
      throw ModelError(path + ": its random state is not one of a " + (cuda ? "GPU" : "CPU") +
                       " generator; resume a train state on the kind of device that saved it");
    }
    log("# resumed " + path + " at step " + std::to_string(resumed_state.step) + " (" +
        std::to_string(prior_samples) + " samples seen before), optimizer state kept" +
        (o.new_schedule ? ", new schedule" : ", same schedule"));
    resumed.reset();  // frees the file's bytes
  }

  PatchDiscriminator disc{nullptr};
  std::unique_ptr<torch::optim::Adam> disc_opt;
  if (o.gan_weight > 0) {
    disc = PatchDiscriminator();
    disc->to(device);
    disc_opt = std::make_unique<torch::optim::Adam>(disc->parameters(),
                                                    torch::optim::AdamOptions(1e-4).betas({0.5, 0.9}));
  }

  // The schedule: saved (continued exactly), or a new one from this run's first step, fitted to the time
  // budget after 50 steps.
  const int64_t first_step = resumed_state.step;
  const bool continue_schedule = !o.resume_state.empty() && !o.new_schedule;
  Schedule schedule = resumed_state.schedule;
  if (!continue_schedule) {
    schedule.lr = o.lr;
    schedule.min_ratio = o.min_lr_ratio;
    schedule.start = first_step;
    schedule.warmup = o.warmup_steps;
    schedule.total = first_step + o.max_steps;
  }

  auto ema_params = ema->parameters();
  auto params = net->parameters();
  const auto start = std::chrono::steady_clock::now();
  auto last_save = start;
  int64_t samples = 0;
  // Accumulated on the device: reading them every step would stall the GPU queue.
  torch::Tensor window_loss = torch::zeros({}, torch::TensorOptions().device(device));
  torch::Tensor window_psnr = torch::zeros({}, torch::TensorOptions().device(device));
  torch::Tensor window_lpips = torch::zeros({}, torch::TensorOptions().device(device));
  int window_steps = 0;
  auto window_start = start, speed_probe_start = start;
  int64_t step = first_step;
  double matmul_rate = 0;         // measured once, on CUDA
  int64_t speed_probe_after = 0;  // the speed probe times the steps after this one

  auto save = [&](const std::string& name, const EvalResult* eval) {
    const double seconds = resumed_state.seconds + elapsed_seconds(start);
    std::map<std::string, std::string> meta = {{"train.step", std::to_string(step)},
                                               {"train.samples", std::to_string(prior_samples + samples)},
                                               {"train.seconds", std::to_string(seconds)},
                                               {"train.batch", std::to_string(o.batch)},
                                               {"train.lr", std::to_string(schedule.lr)}};
    if (eval)
      for (const auto& r : eval->rows) meta["eval.psnr_" + std::to_string(r.tokens)] = std::to_string(r.psnr);
    const uint32_t id = save_network(o.out_dir + "/" + name, ema, torch::kFloat16, meta);

    SafetensorsFile state;
    state.metadata = config_to_metadata(config);
    state.metadata["state.step"] = std::to_string(step);
    state.metadata["state.samples"] = std::to_string(prior_samples + samples);
    state.metadata["state.adam_steps"] = std::to_string(optimizer.steps());
    state.metadata["state.lr"] = number_text(schedule.lr);
    state.metadata["state.min_lr_ratio"] = number_text(schedule.min_ratio);
    state.metadata["state.schedule_start"] = std::to_string(schedule.start);
    state.metadata["state.warmup"] = std::to_string(schedule.warmup);
    state.metadata["state.total_steps"] = std::to_string(schedule.total);
    state.metadata["state.seconds"] = number_text(seconds);
    std::ostringstream host_rng;
    host_rng << rng;
    state.metadata["state.host_rng"] = host_rng.str();
    auto ema_named = ema->named_parameters();
    for (const auto& item : net->named_parameters()) {
      state.tensors["net." + item.key()] = tensor_to_blob(item.value(), o.state_dtype);
      state.tensors["ema." + item.key()] = tensor_to_blob(ema_named[item.key()], o.state_dtype);
    }
    for (size_t g = 0; g < 2; ++g)
      for (size_t i = 0; i < group_names[g]->size(); ++i) {
        state.tensors["adam.m." + (*group_names[g])[i]] =
            tensor_to_blob(optimizer.exp_avg(g, i), o.state_dtype);
        state.tensors["adam.v." + (*group_names[g])[i]] =
            tensor_to_blob(optimizer.exp_avg_sq(g, i), o.state_dtype);
      }
    state.tensors["rng.torch"] = tensor_to_blob(device_generator(device).get_state(), torch::kUInt8);
    write_safetensors_file(o.out_dir + "/" + kTrainStateFile, state);
    log("# saved " + name + " (model id " + model_id_text(id) + ", " +
        std::to_string(prior_samples + samples) + " samples) and " + kTrainStateFile + " (step " +
        std::to_string(step) + ")");
  };

  LengthBalancedLogMse log_mse(config.num_tokens);  // its running means live as long as the run
  // One training step at learning rate lr; returns the reconstruction and the loss (on the device).
  auto train_step = [&](double lr, bool gan_on) {
    auto images = bank.sample(o.batch, rng, o.colour_jitter_fraction);
    auto keep =
        draw_kept_lengths(o.batch, config.num_tokens, o.full_length_fraction, device, o.log_uniform_fraction);
    torch::Tensor recon, loss;
    {
      AutocastBf16 ac(cuda);
      recon = net->decode_codes(net->encode_codes(images), keep).to(torch::kFloat32);
      auto diff = recon - images;
      loss = o.mse_weight * diff.pow(2).mean();
      if (o.log_mse_weight > 0) loss = loss + o.log_mse_weight * log_mse(recon, images, keep);
      if (o.l1_weight > 0) loss = loss + o.l1_weight * diff.abs().mean();
      if (o.ms_ssim_weight > 0) loss = loss + o.ms_ssim_weight * (1 - ms_ssim(recon, images).mean());
      if (gan_on) loss = loss - o.gan_weight * disc->forward(recon).to(torch::kFloat32).mean();
    }
    torch::Tensor lpips_loss;
    if (lpips) {  // outside autocast: AlexNet runs in float32 on the float32 reconstruction
      lpips_loss = lpips->distance(recon, images).mean();
      loss = loss + o.lpips_weight * lpips_loss;
    }
    optimizer.zero_grad();
    loss.backward();
    clip_grad_norm(params, o.grad_clip);
    optimizer.step(lr);
    if (gan_on) {
      AutocastBf16 ac(cuda);
      auto real = disc->forward(images).to(torch::kFloat32);
      auto fake = disc->forward(recon.detach()).to(torch::kFloat32);
      auto d_loss = torch::relu(1 - real).mean() + torch::relu(1 + fake).mean();
      disc_opt->zero_grad();
      d_loss.backward();
      disc_opt->step();
    }
    {
      torch::NoGradGuard no_grad;
      const double d = std::min(o.ema_decay, (1.0 + step) / (10.0 + step));
      at::_foreach_mul_(ema_params, d);
      at::_foreach_add_(ema_params, params, 1.0 - d);
    }
    samples += o.batch;
    window_loss += loss.detach();
    window_psnr += psnr_per_image(recon.detach(), images).mean();
    if (lpips) window_lpips += lpips_loss.detach();
    ++window_steps;
    return loss;
  };

  for (; step < schedule.total; ++step) {
    if (o.stop_after_steps > 0 && step - first_step >= o.stop_after_steps) break;
    const double lr = schedule.at(step);
    const bool gan_on =
        o.gan_weight > 0 && step >= static_cast<int64_t>(o.gan_start_fraction * schedule.total);
    const auto loss = train_step(lr, gan_on);
    const int64_t run_step = step - first_step;  // steps of this run so far, this one excluded

    if (run_step == 20) {
      if (cuda) {
        // Before the speed probe, so that the schedule is fitted to the speed of the head form chosen here.
        log(profile_step(net, bank, o.batch, rng, o.head_form == "auto"));
        matmul_rate = measure_matmul_rate(Device::kCuda, 1.0);
        if (!o.trace_path.empty()) {
          log(trace_steps(o.trace_path, 3, [&] { train_step(schedule.at(step), gan_on); }));
          step += 3;
        }
      }
      loss.item<double>();  // synchronise, so the timing below measures steady-state steps only
      speed_probe_start = std::chrono::steady_clock::now();
      speed_probe_after = step;
      window_loss.zero_();
      window_psnr.zero_();
      window_lpips.zero_();
      window_steps = 0;
      window_start = speed_probe_start;
    }
    if (run_step == 50) {
      loss.item<double>();
      const double per_step =
          elapsed_seconds(speed_probe_start) / static_cast<double>(step - speed_probe_after);
      if (!continue_schedule && o.minutes > 0) {
        // Fit the schedule to the wall-clock budget now that the speed is known.
        const int64_t fit = static_cast<int64_t>((o.minutes * 60 - elapsed_seconds(start)) / per_step) + step;
        schedule.total = std::max<int64_t>(step + 1, std::min(first_step + o.max_steps, fit));
      }
      log("# " + std::to_string(per_step * 1000) + " ms/step: schedule ends at step " +
          std::to_string(schedule.total));
      if (cuda) {
        // The floor: 3x the forward FLOPs per sample at the device's measured matrix rate.
        const double floor = matmul_rate / training_flops_per_sample(config);
        const double speed = o.batch / per_step;
        std::ostringstream line;
        line << std::fixed << std::setprecision(1) << "# throughput: " << speed << " samples/s; "
             << training_flops_per_sample(config) / 1e9 << " GFLOP per sample (3 x forward), matrix rate "
             << matmul_rate / 1e12 << " TFLOP/s (bf16, measured): floor " << floor << " samples/s, so "
             << 100.0 * speed / floor << "% of it";
        log(line.str());
      }
    }
    if ((step + 1) % 100 == 0 || run_step == 50) {
      const double secs = elapsed_seconds(window_start);
      std::ostringstream line;
      line << std::fixed << "step\t" << step + 1 << "\tsamples\t" << prior_samples + samples << "\tlr\t"
           << std::setprecision(6) << lr << "\tloss\t" << window_loss.item<double>() / window_steps
           << "\tbatch_psnr\t" << std::setprecision(2) << window_psnr.item<double>() / window_steps
           << "\tsamples_per_s\t" << std::setprecision(1) << window_steps * o.batch / secs << "\tminutes\t"
           << std::setprecision(2) << elapsed_seconds(start) / 60;
      if (lpips) line << "\tlpips\t" << std::setprecision(4) << window_lpips.item<double>() / window_steps;
      log(line.str());
      window_loss.zero_();
      window_psnr.zero_();
      window_lpips.zero_();
      window_steps = 0;
      window_start = std::chrono::steady_clock::now();
    }
    if (eval_images.defined() && o.eval_every > 0 && (step + 1) % o.eval_every == 0) {
      const auto eval_start = std::chrono::steady_clock::now();
      auto r = evaluate(ema, eval_images, false, cuda);
      std::ostringstream line;
      line << std::fixed << std::setprecision(2) << "eval\t" << step + 1;
      for (const auto& row : r.rows) line << "\t" << row.tokens << ":" << row.psnr;
      line << "\tcodebook_use\t" << r.codebook_use;
      log(line.str());
      // The speed window goes on past an evaluation in its middle (eval_every need not be a multiple of
      // 100): leave the evaluation's time out of it, not the steps before it (runs 5-9 printed the speed of
      // such a window twice too high).
      window_start += std::chrono::steady_clock::now() - eval_start;
    }
    if (elapsed_seconds(last_save) > o.save_every_minutes * 60) {
      ++step;  // the state records the next step to run
      save("checkpoint-fp16.safetensors", nullptr);
      --step;
      last_save = std::chrono::steady_clock::now();
    }
  }
  EvalResult final_eval;
  if (eval_images.defined()) {
    final_eval = evaluate(ema, eval_images, true, cuda);
    log("# final evaluation (EMA weights)\n" + final_eval.table_markdown());
    std::ostringstream curve;
    curve << "contribution";
    for (double c : final_eval.contribution) curve << "\t" << c;
    log(curve.str());
  }
  save("checkpoint-fp16.safetensors", eval_images.defined() ? &final_eval : nullptr);
}

std::vector<uint16_t> fit_token_frequencies(TokenizerNet& net, const ImageBank& bank, int samples,
                                            bool autocast, std::mt19937& rng) {
  torch::NoGradGuard no_grad;
  net->eval();
  AutocastBf16 ac(autocast);
  const int64_t N = net->config.num_tokens, K = net->config.codebook_size();
  const auto device = net->parameters().front().device();
  auto counts = torch::zeros({N * K}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  auto offsets = (torch::arange(N, counts.options()) * K).unsqueeze(0);
  for (int done = 0; done < samples; done += 64) {
    auto idx = net->encode_indices(bank.sample(std::min(64, samples - done), rng));
    counts.index_add_(0, (idx + offsets).flatten(), torch::ones({idx.numel()}, counts.options()));
  }
  auto c = counts.view({N, K}).to(torch::kCPU).to(torch::kFloat64);
  // Every code keeps frequency >= 1 (it must stay codable); the remaining mass follows the counts.
  std::vector<uint16_t> out(static_cast<size_t>(N * K));
  const double spare = 65536.0 - K;
  const auto totals = c.sum(1);
  auto acc = c.accessor<double, 2>();
  for (int64_t p = 0; p < N; ++p) {
    const double total = totals[p].item<double>();
    int64_t used = 0, best = 0;
    double best_count = -1;
    for (int64_t k = 0; k < K; ++k) {
      const double cnt = acc[p][k];
      const int64_t f = 1 + (total > 0 ? static_cast<int64_t>(std::floor(cnt * spare / total)) : 0);
      out[p * K + k] = static_cast<uint16_t>(f);
      used += f;
      if (cnt > best_count) best_count = cnt, best = k;
    }
    out[p * K + best] = static_cast<uint16_t>(out[p * K + best] + (65536 - used));
  }
  return out;
}

}  // namespace odp::model
