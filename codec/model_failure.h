// Internal to codec/: the one place where whatever a model throws becomes the CodecError the API promises.
#pragma once

#include <string>

#include "model/tile_model.h"

namespace odp::codec::detail {

// Called in a catch block around calls into a model (or its loading); rethrows the exception in flight as
// CodecError. A model may throw whatever its implementation uses (LibTorch's c10::Error, CUDA errors,
// std::bad_alloc): ModelError keeps its message as kModel, running out of memory is kOutOfMemory, anything
// else is "<failed>: <its first line>" (no backtrace), kDevice on the GPU and kModel on the CPU.
[[noreturn]] void rethrow_model_failure(const std::string& failed, model::Device device);

}  // namespace odp::codec::detail
