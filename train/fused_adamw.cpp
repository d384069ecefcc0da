// AdamW and gradient clipping with _foreach_ kernels (see fused_adamw.h).
#include "train/fused_adamw.h"

#include <cmath>

namespace odp::model {

FusedAdamW::FusedAdamW(std::vector<Group> groups, double beta1, double beta2, double eps)
    : groups_(std::move(groups)), beta1_(beta1), beta2_(beta2), eps_(eps) {
  torch::NoGradGuard no_grad;
  for (const auto& group : groups_) {
    State state;
    for (const auto& p : group.params) {
      state.exp_avg.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      state.exp_avg_sq.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    }
    state_.push_back(std::move(state));
  }
}

void FusedAdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bias_correction1 = 1.0 - std::pow(beta1_, static_cast<double>(step_));
  const double bias_correction2 = 1.0 - std::pow(beta2_, static_cast<double>(step_));
  for (size_t g = 0; g < groups_.size(); ++g) {
    std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq;
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      const auto& p = groups_[g].params[i];
      if (!p.grad().defined()) continue;
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avg.push_back(state_[g].exp_avg[i]);
      exp_avg_sq.push_back(state_[g].exp_avg_sq[i]);
    }
    if (params.empty()) continue;
    if (groups_[g].weight_decay != 0) at::_foreach_mul_(params, 1.0 - lr * groups_[g].weight_decay);
    // m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    at::_foreach_mul_(exp_avg, beta1_);
    at::_foreach_add_(exp_avg, grads, 1.0 - beta1_);
    at::_foreach_mul_(exp_avg_sq, beta2_);
    at::_foreach_addcmul_(exp_avg_sq, grads, grads, 1.0 - beta2_);
    // p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
    auto denom = at::_foreach_sqrt(exp_avg_sq);
    at::_foreach_div_(denom, std::sqrt(bias_correction2));
    at::_foreach_add_(denom, eps_);
    at::_foreach_addcdiv_(params, exp_avg, denom, -lr / bias_correction1);
  }
}

void FusedAdamW::zero_grad() {
  for (auto& group : groups_)
    for (auto& p : group.params) p.mutable_grad() = torch::Tensor();
}

torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return torch::zeros({});
  const auto total = torch::stack(at::_foreach_norm(grads, 2)).norm();
  // The same coefficient as torch.nn.utils.clip_grad_norm_: max_norm / (norm + 1e-6), never above 1.
  const auto coefficient = (max_norm / (total + 1e-6)).clamp_max(1.0);
#if TORCH_VERSION_MAJOR >= 2
  at::_foreach_mul_(grads, coefficient);
#else
  // LibTorch 1.13 has no tensor-scalar _foreach_mul_: read the coefficient (one synchronisation).
  at::_foreach_mul_(grads, coefficient.item<double>());
#endif
  return total;
}

}  // namespace odp::model
