// Encoder search ("effort"): refines a tile's tokens against the frozen decoder's reconstruction.
#pragma once

#include <vector>

#include "model/network.h"

namespace odp::model {

struct EffortOptions {
  int steps = 30;    // Adam steps on the latents
  double lr = 0.05;  // Adam's step size, in units of the latents before FSQ
  int batch = 2;     // tiles refined together (the decoder runs batch x lengths reconstructions a step)
  // The prefix lengths whose reconstructions the objective averages (mean log MSE, so each length counts
  // the same in dB). Every truncation in this set is kept no worse than the encoder's own tokens.
  std::vector<int> lengths = {16, 32, 64};
};

// images: [B,3,T,T] in [0,1] on net's device -> int64 [B,N] tokens. Starts from the encoder's latents and
// runs options.steps Adam steps on them, the gradient passing FSQ's rounding straight through; the decoder's
// weights are not changed. A step's forward pass decodes the rounded tokens, so its MSEs are those of real
// tokens: a tile takes a step's tokens only when no length in options.lengths gets a larger MSE than with
// the tokens it holds (which start as the encoder's). steps = 0 gives encode_indices.
torch::Tensor refine_indices(TokenizerNet& net, const torch::Tensor& images, const EffortOptions& options);
// The same search, giving the tokens held after each of `snapshots` steps (ascending, each at most
// options.steps): one run serves a comparison of step counts.
std::vector<torch::Tensor> refine_indices(TokenizerNet& net, const torch::Tensor& images,
                                          const EffortOptions& options, const std::vector<int>& snapshots);

}  // namespace odp::model
