// AdamW and gradient-norm clipping over all parameters at once with LibTorch's _foreach_ kernels.
// LibTorch's C++ AdamW and clip_grad_norm_ loop over the parameter tensors, ~12 and 2 kernels each (~2,000
// launches per step for this model); these issue a fixed handful, whatever the number of tensors.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace odp::model {

class FusedAdamW {
 public:
  struct Group {
    std::vector<torch::Tensor> params;
    double weight_decay = 0;
  };
  FusedAdamW(std::vector<Group> groups, double beta1, double beta2, double eps = 1e-8);

  // One AdamW step (decoupled weight decay, bias-corrected moments: the same arithmetic as torch.optim.AdamW)
  // at learning rate lr, from the parameters' .grad(). Parameters without a gradient are left alone.
  void step(double lr);
  void zero_grad();
  int64_t steps() const { return step_; }

  // For checkpoints that resume without re-warming (the trainer's state file): the steps taken so far (they
  // set the bias correction), and the first and second moments of parameter `index` of group `group`, in the
  // order given to the constructor. The moments are the optimizer's own tensors: copy into them to restore.
  void set_steps(int64_t steps) { step_ = steps; }
  const torch::Tensor& exp_avg(size_t group, size_t index) const {
    return state_.at(group).exp_avg.at(index);
  }
  const torch::Tensor& exp_avg_sq(size_t group, size_t index) const {
    return state_.at(group).exp_avg_sq.at(index);
  }

 private:
  struct State {
    std::vector<torch::Tensor> exp_avg, exp_avg_sq;
  };
  std::vector<Group> groups_;
  std::vector<State> state_;
  double beta1_, beta2_, eps_;
  int64_t step_ = 0;
};

// Scales the gradients so that their global L2 norm is at most max_norm, without reading the norm back to the
// host on LibTorch >= 2 (no GPU synchronisation). Returns the norm before clipping, as a 0-d tensor.
torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

}  // namespace odp::model
