// Tiny TorchScript networks for the FID tests (see fid_test.h).
#include <torch/script.h>

#include "fid_test.h"

namespace odp::bench::test {

void write_feature_network(const std::string& path) {
  torch::jit::Module module("ChannelStats");
  module.define(R"(
def forward(self, x):
    return torch.cat([x.mean([2, 3]), x.std([2, 3])], 1)
)");
  module.save(path);
}

void write_scalar_network(const std::string& path) {
  torch::jit::Module module("Scalar");
  module.define("def forward(self, x):\n    return x.sum()\n");
  module.save(path);
}

}  // namespace odp::bench::test
