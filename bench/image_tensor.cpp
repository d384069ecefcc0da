// Bench images as LibTorch tensors (see image_tensor.h).
#include "bench/image_tensor.h"

#include <string>

#include "bench/metrics.h"

namespace odp::bench {

at::Tensor image_to_tensor(const odp::base::Image& image, const at::Device& device, const char* what) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    throw BenchError(std::string(what) + ": the image's pixel buffer does not match its size");
  return at::from_blob(const_cast<uint8_t*>(image.rgb.data()), {1, image.height, image.width, 3}, at::kByte)
      .to(device)
      .permute({0, 3, 1, 2})
      .to(at::kFloat)
      .div(255.0);
}

}  // namespace odp::bench
