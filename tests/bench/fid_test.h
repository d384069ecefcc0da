// Tiny TorchScript networks for the FID tests, written from C++ (no Python here). Declared without LibTorch
// headers: their glog CHECK macro would replace Catch's in the test files that include this.
#pragma once

#include <string>

namespace odp::bench::test {

// forward(x) = [per-channel mean, per-channel standard deviation]: [N, 6].
void write_feature_network(const std::string& path);
// forward(x) = x.sum(): a scalar, which odp-bench must refuse.
void write_scalar_network(const std::string& path);

}  // namespace odp::bench::test
