// GPU kernels for the steps LibTorch does poorly: tiling, stitching, FSQ and the decoder head's upsampling.
// Raw device pointers and a stream in, no LibTorch; codec/tiling.h and model/network.h stay the reference
// (their tests compare; this layer includes neither).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "format/tile_grid.h"

namespace odp::cuda {

// Every failure in cuda/ (a CUDA call that failed, an impossible argument) is reported as this; the message
// names the operation and carries CUDA's own error string.
class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Element type of tiles, latents and codes in device memory.
enum class RealType { kFloat32, kBFloat16 };
// Element type of FSQ codebook indices in device memory.
enum class IndexType { kInt32, kInt64 };

size_t size_of(RealType type);
size_t size_of(IndexType type);

// Number of CUDA devices; 0 when there is no driver or no device (never throws).
int device_count();

// Image -> tiles. rgb: grid.width x grid.height x 3 bytes (interleaved, device). Writes tiles
// [first_tile, first_tile + tile_count) of the grid, in grid order, as tile_count x 3 x T x T values byte/255
// with mirror padding past the image edge (exactly odp::codec::extract_tiles).
void extract_tiles(const uint8_t* rgb, const format::TileGrid& grid, int first_tile, int tile_count,
                   void* tiles, RealType tile_type, cudaStream_t stream);

// Tiles -> image. tiles: grid.count() x 3 x T x T (device), clamped to [0,1]; rgb receives the blended
// 8-bit image (odp::codec::stitch_tiles, within one level of rounding).
void stitch_tiles(const void* tiles, RealType tile_type, const format::TileGrid& grid, uint8_t* rgb,
                  cudaStream_t stream);

// Finite Scalar Quantization of rows latents[n][d], d = levels.size() (each level 3..65536), the arithmetic
// of odp::model::FiniteScalarQuantizer in float32. indices (n entries) and codes (n x d) are each optional
// (null skips them). Throws when the codebook does not fit the index type.
void fsq_quantize(const void* latents, RealType latent_type, int64_t n, const std::vector<int>& levels,
                  void* indices, IndexType index_type, void* codes, RealType code_type, cudaStream_t stream);

// Codebook indices -> codes (n x d). Indices outside [0, codebook size) are taken modulo the codebook size.
void fsq_codes_from_indices(const void* indices, IndexType index_type, int64_t n,
                            const std::vector<int>& levels, void* codes, RealType code_type,
                            cudaStream_t stream);

// The decoder head's upsampling stage after its sub-pixel convolution (odp::model, UpsampleHeadImpl): y is
// the convolution's output, channels-last [n, h+1, w+1, 4c] bf16, and phase (a, p) of output pixel (i, j) is
// channel block 2a+p of y at (i+a, j+p). Writes GELU (erf form) of each phase value to out, channels-last [n,
// 2h, 2w, c] bf16: one pass instead of LibTorch's GELU and interleaving copy. c: a positive multiple of 8.
void gelu_pixel_interleave(const void* y, int64_t n, int h, int w, int c, void* out, cudaStream_t stream);

// The decoder head's last upsampling stage and its RGB convolution in one pass: gelu_pixel_interleave of y
// (as above, the bf16 rounding included), then the 3x3 convolution to_rgb (zero padding 1) with weight [3, c,
// 3, 3] and bias [3] (bf16), sums in float. out: [n, 3, 2h, 2w] bf16, contiguous. The upsampled image, 2h x
// 2w x c values per picture, is never written to memory. c: a multiple of 8 up to 64; n at most 65535.
void gelu_interleave_to_rgb(const void* y, int64_t n, int h, int w, int c, const void* weight,
                            const void* bias, void* out, cudaStream_t stream);

// Network output -> 8-bit pixels: out[i] = odp::model::byte_from_unit(values[i]) exactly (clamp to [0,1],
// times 255, halves away from zero), in one pass; LibTorch's exact formula (model/pixels.h) takes eight.
void bytes_from_unit(const void* values, RealType value_type, int64_t n, uint8_t* out, cudaStream_t stream);

// Bytes of device memory in use on the current device (all processes, the caching allocators' reserve
// included): the difference around a workload bounds its peak footprint from above.
size_t device_memory_in_use();

// Throws CudaError("<what>: <CUDA error string>") when status is not cudaSuccess.
void check(cudaError_t status, const std::string& what);

}  // namespace odp::cuda
