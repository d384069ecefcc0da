// LibTorch side of odp-throughput: timed matrix products and the network on device-resident tensors.
#include "bench/throughput/torch_probes.h"

#include <torch/torch.h>

#include "bench/throughput/timing.h"
#include "model/network.h"
#include "model/weights.h"

namespace odp::bench {
namespace {

torch::Device torch_device(model::Device device) {
  return device == model::Device::kCuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}
// The dtype TileModel runs the network in on each device.
torch::ScalarType network_dtype(model::Device device) {
  return device == model::Device::kCuda ? torch::kBFloat16 : torch::kFloat32;
}
void synchronize(model::Device device) {
  if (device == model::Device::kCuda) torch::cuda::synchronize();
}

}  // namespace

struct NetworkProbe::State {
  model::TokenizerNet net{nullptr};
  model::Device device;
  torch::TensorOptions options;
};

NetworkProbe::NetworkProbe(const std::string& model_path, const model::ModelConfig& config, uint64_t seed,
                           model::Device device)
    : state_(std::make_unique<State>()) {
  if (model_path.empty()) {
    torch::manual_seed(seed);
    state_->net = model::TokenizerNet(config);
  } else {
    state_->net = model::load_network(model_path).net;
  }
  state_->device = device;
  state_->options = torch::TensorOptions().device(torch_device(device)).dtype(network_dtype(device));
  state_->net->eval();
  state_->net->to(torch_device(device), network_dtype(device));
}

NetworkProbe::~NetworkProbe() = default;

double NetworkProbe::time_encode(int batch, double seconds) {
  // bf16 weights and inputs as TileModel runs them, without autocast: the network casts the float32 FSQ codes
  // itself, and autocast's float32 LayerNorm outputs would cost a quarter of the transformer's time.
  torch::NoGradGuard no_grad;
  const auto& c = state_->net->config;
  // Two input sets so that repeats do not replay one cached buffer.
  const torch::Tensor inputs[2] = {torch::rand({batch, 3, c.tile_size, c.tile_size}, state_->options),
                                   torch::rand({batch, 3, c.tile_size, c.tile_size}, state_->options)};
  int call = 0;
  return median_seconds(
      [&] {
        state_->net->encode_indices(inputs[call++ % 2]);
        synchronize(state_->device);
      },
      2, seconds);
}

double NetworkProbe::time_decode(int batch, double seconds) {
  torch::NoGradGuard no_grad;
  const auto& c = state_->net->config;
  const auto index_options = torch::TensorOptions().device(torch_device(state_->device)).dtype(torch::kInt64);
  const torch::Tensor tokens[2] = {torch::randint(c.codebook_size(), {batch, c.num_tokens}, index_options),
                                   torch::randint(c.codebook_size(), {batch, c.num_tokens}, index_options)};
  const auto keep = torch::full({batch}, c.num_tokens, index_options);
  int call = 0;
  return median_seconds(
      [&] {
        state_->net->decode_indices(tokens[call++ % 2], keep);
        synchronize(state_->device);
      },
      2, seconds);
}

}  // namespace odp::bench
