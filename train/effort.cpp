// Encoder search: Adam on the pre-FSQ latents through the frozen decoder, straight through the rounding.
#include "train/effort.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace odp::model {

namespace {

// Turns off the gradients of net's parameters for one scope (the search changes only the latents).
class FrozenParameters {
 public:
  explicit FrozenParameters(TokenizerNet& net) : parameters_(net->parameters()) {
    for (auto& p : parameters_) {
      was_.push_back(p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~FrozenParameters() {
    for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].requires_grad_(was_[i]);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<torch::Tensor> parameters_;
  std::vector<bool> was_;
};

// The tokens held after each step count in snapshots.
std::vector<torch::Tensor> refine_batch(TokenizerNet& net, const torch::Tensor& images,
                                        const EffortOptions& o, const std::vector<int>& snapshots) {
  const int64_t B = images.size(0), L = static_cast<int64_t>(o.lengths.size());
  torch::Tensor z;
  {
    torch::NoGradGuard no_grad;
    z = net->encode_latents(images).to(torch::kFloat32).detach().clone();
  }
  torch::Tensor best = net->fsq.codes_to_indices(net->fsq.quantize(z));
  std::vector<torch::Tensor> held;
  const auto take_snapshots = [&](int step) {
    while (held.size() < snapshots.size() && snapshots[held.size()] <= step)
      held.push_back(best.to(torch::kCPU));
  };
  if (o.steps <= 0 || L == 0) {
    take_snapshots(std::numeric_limits<int>::max());
    return held;
  }
  z.requires_grad_(true);
  torch::optim::Adam adam({z}, torch::optim::AdamOptions(o.lr));
  const auto device = images.device();
  std::vector<int64_t> keep_values;
  for (int64_t b = 0; b < B; ++b)
    for (int k : o.lengths) keep_values.push_back(k);
  const auto keep = torch::tensor(keep_values, torch::kInt64).to(device);
  const auto targets = images.to(torch::kFloat32).repeat_interleave(L, 0);
  auto best_mse = torch::full({B, L}, std::numeric_limits<float>::infinity(), images.options());
  // steps + 1 forward passes: the first measures the encoder's tokens, the last the final step's.
  for (int step = 0; step <= o.steps; ++step) {
    const auto codes = net->fsq.quantize(z);
    const auto recon = net->decode_codes(codes.repeat_interleave(L, 0), keep).to(torch::kFloat32).clamp(0, 1);
    const auto mse = (recon - targets).pow(2).flatten(1).mean(1).view({B, L});
    {
      torch::NoGradGuard no_grad;
      const auto better = (mse <= best_mse).all(1);
      const auto indices = net->fsq.codes_to_indices(codes);
      best = torch::where(better.unsqueeze(1), indices, best);
      best_mse = torch::where(better.unsqueeze(1), mse, best_mse);
    }
    take_snapshots(step);
    if (step == o.steps) break;
    adam.zero_grad();
    // Tiles are independent: the sum over tiles gives each its own mean over lengths.
    torch::log(mse.clamp_min(1e-10)).mean(1).sum().backward();
    adam.step();
  }
  take_snapshots(std::numeric_limits<int>::max());
  return held;
}

}  // namespace

torch::Tensor refine_indices(TokenizerNet& net, const torch::Tensor& images, const EffortOptions& options) {
  return refine_indices(net, images, options, {options.steps}).front();
}

std::vector<torch::Tensor> refine_indices(TokenizerNet& net, const torch::Tensor& images,
                                          const EffortOptions& options, const std::vector<int>& snapshots) {
  for (int k : options.lengths)
    if (k < 1 || k > net->config.num_tokens) throw std::invalid_argument("effort: a length outside 1..N");
  if (!std::is_sorted(snapshots.begin(), snapshots.end()) ||
      (!snapshots.empty() && snapshots.back() > options.steps))
    throw std::invalid_argument("effort: snapshots must ascend to at most the step count");
  const bool was_training = net->is_training();
  net->eval();
  FrozenParameters frozen(net);
  std::vector<std::vector<torch::Tensor>> parts(snapshots.size());
  const int64_t n = images.size(0), batch = std::max(1, options.batch);
  for (int64_t s = 0; s < n; s += batch) {
    auto held = refine_batch(net, images.slice(0, s, std::min(n, s + batch)), options, snapshots);
    for (size_t i = 0; i < held.size(); ++i) parts[i].push_back(held[i]);
  }
  net->train(was_training);
  std::vector<torch::Tensor> out;
  for (auto& p : parts) out.push_back(torch::cat(p, 0));
  return out;
}

}  // namespace odp::model
