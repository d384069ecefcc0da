// PSNR and MS-SSIM on tensors.
#include "train/metrics.h"

#include <cmath>

namespace odp::model {

torch::Tensor psnr_per_image(const torch::Tensor& a, const torch::Tensor& b) {
  auto mse = (a.to(torch::kFloat32) - b.to(torch::kFloat32)).pow(2).flatten(1).mean(1).clamp_min(1e-10);
  return (-10.0 * torch::log10(mse)).clamp_max(100.0);
}

namespace {

torch::Tensor gaussian_window(int size, double sigma, const torch::TensorOptions& options) {
  auto x = torch::arange(size, options) - (size - 1) / 2.0;
  auto g = torch::exp(-(x * x) / (2 * sigma * sigma));
  g = g / g.sum();
  return g;
}

// Separable Gaussian blur per channel with 'valid' borders, as in the reference implementation.
torch::Tensor blur(const torch::Tensor& x, const torch::Tensor& g) {
  const auto C = x.size(1);
  const auto k = g.size(0);
  auto gh = g.view({1, 1, 1, k}).expand({C, 1, 1, k}).contiguous();
  auto gv = g.view({1, 1, k, 1}).expand({C, 1, k, 1}).contiguous();
  namespace F = torch::nn::functional;
  auto y = F::conv2d(x, gh, F::Conv2dFuncOptions().groups(C));
  return F::conv2d(y, gv, F::Conv2dFuncOptions().groups(C));
}

// Returns (ssim map mean, contrast-structure mean) per image, each [B].
std::pair<torch::Tensor, torch::Tensor> ssim_components(const torch::Tensor& a, const torch::Tensor& b,
                                                        const torch::Tensor& g) {
  const double C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;
  auto mu_a = blur(a, g), mu_b = blur(b, g);
  auto sa = blur(a * a, g) - mu_a * mu_a;
  auto sb = blur(b * b, g) - mu_b * mu_b;
  auto sab = blur(a * b, g) - mu_a * mu_b;
  auto cs = (2 * sab + C2) / (sa + sb + C2);
  auto lum = (2 * mu_a * mu_b + C1) / (mu_a * mu_a + mu_b * mu_b + C1);
  return {(lum * cs).flatten(1).mean(1), cs.flatten(1).mean(1)};
}

}  // namespace

torch::Tensor ms_ssim(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  static const double weights[5] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
  auto a = a_in.to(torch::kFloat32), b = b_in.to(torch::kFloat32);
  const int window = std::min<int64_t>(11, std::min(a.size(2), a.size(3)) >> 4);
  auto g = gaussian_window(std::max(window, 1), 1.5, a.options());
  torch::Tensor result = torch::ones({a.size(0)}, a.options());
  namespace F = torch::nn::functional;
  for (int scale = 0; scale < 5; ++scale) {
    auto [ssim, cs] = ssim_components(a, b, g);
    // relu keeps the product real when a component goes slightly negative early in training.
    auto term = (scale == 4 ? ssim : cs).relu() + 1e-8;
    result = result * term.pow(weights[scale]);
    if (scale < 4) {
      a = F::avg_pool2d(a, F::AvgPool2dFuncOptions(2));
      b = F::avg_pool2d(b, F::AvgPool2dFuncOptions(2));
    }
  }
  return result;
}

}  // namespace odp::model
