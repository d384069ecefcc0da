// Measurements that need LibTorch itself: the device's matrix rate and the network on device-resident
// batches.
#pragma once

#include <memory>
#include <string>

#include "model/tile_model.h"

namespace odp::bench {

// The network alone on batches already on the device, bf16 weights and bf16 autocast on CUDA (fp32 on the
// CPU): what the GPU can do once the codec keeps tiles on the device (no host copies, no conversions).
class NetworkProbe {
 public:
  // model_path "" builds a random network of `config` from `seed`, as TileModel::random does.
  NetworkProbe(const std::string& model_path, const model::ModelConfig& config, uint64_t seed,
               model::Device device);
  ~NetworkProbe();
  NetworkProbe(const NetworkProbe&) = delete;
  NetworkProbe& operator=(const NetworkProbe&) = delete;
  // Median seconds per call for a batch of random tiles (encode) or random full-length token rows (decode).
  double time_encode(int batch, double seconds);
  double time_decode(int batch, double seconds);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace odp::bench
