// Weight-space interpolation of two models of one architecture (a "model soup" of two fine-tunings).
#pragma once

#include "model/network.h"

namespace odp::model {

// Sets every floating-point parameter and buffer of `into` to (1 - alpha) * into + alpha * other, in place.
// Why: when two recipes trade quality at different prefix lengths, a point between them may keep most of
// one's gain at a fraction of the other's loss. Throws std::invalid_argument when alpha is outside [0, 1] or
// the two networks differ in a tensor's name or shape (naming it); `into` is then unchanged.
void blend_networks(TokenizerNet& into, TokenizerNet& other, double alpha);

}  // namespace odp::model
