// blend_networks: (1 - alpha) * A + alpha * B over every weight and buffer of two networks.
#include "train/blend.h"

#include <stdexcept>
#include <string>

namespace odp::model {

namespace {

using Tensors = torch::OrderedDict<std::string, torch::Tensor>;

void check_same_tensors(const Tensors& mine, const Tensors& theirs, const char* what) {
  if (mine.size() != theirs.size())
    throw std::invalid_argument(std::string("blend: the networks have different numbers of ") + what);
  for (const auto& item : mine) {
    const torch::Tensor* other = theirs.find(item.key());
    if (other == nullptr)
      throw std::invalid_argument("blend: '" + item.key() + "' is missing in the other network");
    if (!item.value().sizes().equals(other->sizes()))
      throw std::invalid_argument("blend: '" + item.key() + "' has different shapes in the two networks");
  }
}

void lerp_all(const Tensors& mine, const Tensors& theirs, double alpha) {
  for (const auto& item : mine) {
    auto tensor = item.value();
    if (tensor.is_floating_point()) tensor.lerp_(theirs[item.key()].to(tensor.dtype()), alpha);
  }
}

}  // namespace

void blend_networks(TokenizerNet& into, TokenizerNet& other, double alpha) {
  if (!(alpha >= 0 && alpha <= 1)) throw std::invalid_argument("blend: alpha must lie in [0, 1]");
  const Tensors parameters = into->named_parameters(), other_parameters = other->named_parameters();
  const Tensors buffers = into->named_buffers(), other_buffers = other->named_buffers();
  check_same_tensors(parameters, other_parameters, "parameters");
  check_same_tensors(buffers, other_buffers, "buffers");
  torch::NoGradGuard no_grad;
  lerp_all(parameters, other_parameters, alpha);
  lerp_all(buffers, other_buffers, alpha);
}

}  // namespace odp::model
