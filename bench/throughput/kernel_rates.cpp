// Times the cuda/ kernels with CUDA events on random data, next to a large device-to-device copy.
#include "bench/throughput/kernel_rates.h"

#include <cuda_runtime_api.h>

#include <random>

#include "bench/throughput/timing.h"
#include "cuda/odp_cuda.h"

namespace odp::bench {
namespace {

using cuda::check;

// One device allocation filled with random bytes (never zeros: they can hide slow paths).
class RandomDeviceBuffer {
 public:
  explicit RandomDeviceBuffer(size_t bytes) : bytes_(bytes) {
    check(cudaMalloc(&data_, bytes), "cudaMalloc of " + std::to_string(bytes) + " bytes");
    std::vector<uint8_t> host(bytes);
    std::mt19937 rng(static_cast<unsigned>(bytes));
    for (auto& b : host) b = static_cast<uint8_t>(rng() >> 24);
    check(cudaMemcpy(data_, host.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  ~RandomDeviceBuffer() { cudaFree(data_); }
  RandomDeviceBuffer(const RandomDeviceBuffer&) = delete;
  RandomDeviceBuffer& operator=(const RandomDeviceBuffer&) = delete;
  void* get() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// A CUDA event that is destroyed with its scope.
struct Event {
  cudaEvent_t event = nullptr;
  Event() { check(cudaEventCreate(&event), "cudaEventCreate"); }
  ~Event() { cudaEventDestroy(event); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};

// Median device seconds per launch, from events around 20 launches per sample (the first two samples warm
// up).
template <typename Launch>
double time_launches(Launch&& launch, double seconds) {
  constexpr int kLaunches = 20, kWarmups = 2;
  Event start, stop;
  std::vector<double> per_launch;
  median_seconds(
      [&] {
        check(cudaEventRecord(start.event), "cudaEventRecord");
        for (int i = 0; i < kLaunches; ++i) launch();
        check(cudaEventRecord(stop.event), "cudaEventRecord");
        check(cudaEventSynchronize(stop.event), "kernel execution");
        float ms = 0;
        check(cudaEventElapsedTime(&ms, start.event, stop.event), "cudaEventElapsedTime");
        per_launch.push_back(ms / 1e3 / kLaunches);
      },
      kWarmups, seconds);
  return median(std::vector<double>(per_launch.begin() + kWarmups, per_launch.end()));
}

}  // namespace

std::vector<KernelRate> measure_kernel_rates(double seconds) {
  std::vector<KernelRate> rates;
  {
    const size_t bytes = size_t{1} << 30;
    RandomDeviceBuffer from(bytes), to(bytes);
    rates.push_back({"device-to-device copy, 1 GiB",
                     time_launches(
                         [&] {
                           check(cudaMemcpyAsync(to.get(), from.get(), bytes, cudaMemcpyDeviceToDevice),
                                 "cudaMemcpyAsync");
                         },
                         seconds),
                     2.0 * bytes});
  }
  // A 4096 x 4096 image is 256 tiles of 256 x 256: one large batch.
  const format::TileGrid grid = [] {
    format::TileGrid g;
    g.width = g.height = 4096;
    g.tile = 256;
    g.tiles_x = g.tiles_y = 16;
    return g;
  }();
  const double pixels = 4096.0 * 4096.0, tile_values = 3.0 * grid.count() * grid.tile * grid.tile;
  RandomDeviceBuffer image(static_cast<size_t>(pixels) * 3), tiles(static_cast<size_t>(tile_values) * 2);
  rates.push_back({"extract_tiles 4096x4096 -> 256 bf16 tiles",
                   time_launches(
                       [&] {
                         cuda::extract_tiles(static_cast<uint8_t*>(image.get()), grid, 0, grid.count(),
                                             tiles.get(), cuda::RealType::kBFloat16, nullptr);
                       },
                       seconds),
                   pixels * 3 + tile_values * 2});
  // Tiles of random bytes are arbitrary bf16 values (NaN included): the kernel clamps them.
  rates.push_back({"stitch_tiles 256 bf16 tiles -> 4096x4096",
                   time_launches(
                       [&] {
                         cuda::stitch_tiles(tiles.get(), cuda::RealType::kBFloat16, grid,
                                            static_cast<uint8_t*>(image.get()), nullptr);
                       },
                       seconds),
                   pixels * 3 + tile_values * 2});
  const std::vector<int> levels = {8, 8, 8, 8};
  const int64_t rows = int64_t{1} << 22;  // 16384 tiles x 256 tokens
  RandomDeviceBuffer latents_and_codes(rows * 4 * 2 * 2), indices(rows * 4);
  auto* latents = static_cast<uint8_t*>(latents_and_codes.get());
  // Random bf16 bit patterns include NaN and huge values; the kernel's clamp keeps indices in range.
  rates.push_back({"fsq_quantize 4M x 4 bf16 -> int32 + bf16 codes",
                   time_launches(
                       [&] {
                         cuda::fsq_quantize(latents, cuda::RealType::kBFloat16, rows, levels, indices.get(),
                                            cuda::IndexType::kInt32, latents + rows * 8,
                                            cuda::RealType::kBFloat16, nullptr);
                       },
                       seconds),
                   rows * 4.0 * (2 + 2) + rows * 4.0});
  rates.push_back({"fsq_codes_from_indices 4M int32 -> bf16 codes",
                   time_launches(
                       [&] {
                         cuda::fsq_codes_from_indices(indices.get(), cuda::IndexType::kInt32, rows, levels,
                                                      latents + rows * 8, cuda::RealType::kBFloat16, nullptr);
                       },
                       seconds),
                   rows * 4.0 + rows * 4.0 * 2});
  {
    // The decoder head's last upsampling stage for 64 tiles (a quarter of a large batch):
    // 64 x 129 x 129 x (4 x 32) bf16 in, 64 x 256 x 256 x 32 bf16 out.
    const int64_t n = 64;
    const int h = 128, w = 128, c = 32;
    const double stage_in = 2.0 * n * (h + 1) * (w + 1) * 4 * c, stage_out = 2.0 * n * (2 * h) * (2 * w) * c;
    RandomDeviceBuffer stage(static_cast<size_t>(stage_in)), upsampled(static_cast<size_t>(stage_out));
    // Random bits make NaN and huge bf16 values; GELU passes them through without trapping.
    rates.push_back(
        {"gelu_pixel_interleave 64 x 129^2 x 128 bf16",
         time_launches(
             [&] { cuda::gelu_pixel_interleave(stage.get(), n, h, w, c, upsampled.get(), nullptr); },
             seconds),
         stage_in * (2.0 * h * 2.0 * w) / ((h + 1.0) * (w + 1.0)) + stage_out});
    // The same stage with the RGB convolution folded in (what the GPU decoder runs): 3 x 32 x 9 multiply-adds
    // per output pixel, so it is bound by arithmetic more than by memory.
    const double rgb_out = 2.0 * n * 3 * (2 * h) * (2 * w);
    RandomDeviceBuffer rgb_weight(3 * c * 9 * 2), rgb_bias(3 * 2), rgb(static_cast<size_t>(rgb_out));
    rates.push_back({"gelu_interleave_to_rgb 64 x 129^2 x 128 -> RGB",
                     time_launches(
                         [&] {
                           cuda::gelu_interleave_to_rgb(stage.get(), n, h, w, c, rgb_weight.get(),
                                                        rgb_bias.get(), rgb.get(), nullptr);
                         },
                         seconds),
                     stage_in * (2.0 * h * 2.0 * w) / ((h + 1.0) * (w + 1.0)) + rgb_out});
    // Its output as 8-bit pixels (the byte API's last step on the device).
    const int64_t values = n * 3 * (2 * h) * (2 * w);
    rates.push_back({"bytes_from_unit 64 x 3 x 256^2 bf16 -> uint8",
                     time_launches(
                         [&] {
                           cuda::bytes_from_unit(rgb.get(), cuda::RealType::kBFloat16, values,
                                                 static_cast<uint8_t*>(upsampled.get()), nullptr);
                         },
                         seconds),
                     3.0 * values});
  }
  return rates;
}

}  // namespace odp::bench
