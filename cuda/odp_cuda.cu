// CUDA kernels for tiling, stitching and FSQ; host wrappers validate arguments and check every CUDA call.
#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>

#include "cuda/odp_cuda.h"

namespace odp::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxFsqDims = 16;

// Kernel arguments are copied by value, so the grid travels as a plain struct of ints.
struct GridShape {
  int width, height, tile, overlap, tiles_x, tiles_y;
};

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls body(TypeTag<float>) or body(TypeTag<__nv_bfloat16>) for the run-time element type.
template <typename Body>
void with_real(RealType type, Body&& body) {
  if (type == RealType::kFloat32)
    body(TypeTag<float>{});
  else
    body(TypeTag<__nv_bfloat16>{});
}

template <typename Body>
void with_index(IndexType type, Body&& body) {
  if (type == IndexType::kInt32)
    body(TypeTag<int32_t>{});
  else
    body(TypeTag<int64_t>{});
}

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Device mirror of odp::codec::reflect_index: mirror without repeating the edge, period 2n - 2.
__device__ __forceinline__ int reflect_index(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * n - 2;
  int m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - m;
}

// Device mirror of odp::codec::blend_weight: a linear ramp across each overlap shared with a neighbour.
__device__ __forceinline__ float blend_weight(int p, int tile, int overlap, bool has_low, bool has_high) {
  if (overlap <= 0) return 1.0f;
  if (has_low && p < overlap) return (p + 0.5f) / overlap;
  if (has_high && p >= tile - overlap) return (tile - p - 0.5f) / overlap;
  return 1.0f;
}

unsigned blocks_for(int64_t work) {
  const int64_t blocks = (work + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::min<int64_t>(blocks, INT_MAX));  // grid-stride loops cover the rest
}

void check_launch(const char* kernel) { check(cudaGetLastError(), std::string("launching ") + kernel); }

// One thread per tile pixel, all three channels: writes are coalesced along x in each channel plane.
template <typename Out>
__global__ void extract_tiles_kernel(const uint8_t* __restrict__ rgb, GridShape g, int first_tile,
                                     int tile_count, Out* __restrict__ tiles) {
  const int64_t plane = static_cast<int64_t>(g.tile) * g.tile;
  const int64_t total = plane * tile_count;
  const int step = g.tile - g.overlap;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int local = static_cast<int>(i / plane);
    const int64_t pos = i - local * plane;
    const int y_in = static_cast<int>(pos / g.tile), x_in = static_cast<int>(pos % g.tile);
    const int tile = first_tile + local;
    const int sx = reflect_index((tile % g.tiles_x) * step + x_in, g.width);
    const int sy = reflect_index((tile / g.tiles_x) * step + y_in, g.height);
    const uint8_t* pixel = rgb + (static_cast<int64_t>(sy) * g.width + sx) * 3;
    Out* out = tiles + local * 3 * plane + pos;
    for (int c = 0; c < 3; ++c) out[c * plane] = from_float<Out>(pixel[c] / 255.0f);
  }
}

// One thread per output pixel: the weighted mean over every tile that covers it.
template <typename In>
__global__ void stitch_tiles_kernel(const In* __restrict__ tiles, GridShape g, uint8_t* __restrict__ rgb) {
  const int64_t plane = static_cast<int64_t>(g.tile) * g.tile;
  const int64_t total = static_cast<int64_t>(g.width) * g.height;
  const int step = g.tile - g.overlap;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int y = static_cast<int>(i / g.width), x = static_cast<int>(i % g.width);
    // Tiles t with t * step <= coordinate < t * step + tile.
    const int tx_first = x < g.tile ? 0 : (x - g.tile) / step + 1, tx_last = min(x / step, g.tiles_x - 1);
    const int ty_first = y < g.tile ? 0 : (y - g.tile) / step + 1, ty_last = min(y / step, g.tiles_y - 1);
    float sum[3] = {0.0f, 0.0f, 0.0f}, weight_sum = 0.0f;
    for (int ty = ty_first; ty <= ty_last; ++ty) {
      const int py = y - ty * step;
      const float wy = blend_weight(py, g.tile, g.overlap, ty > 0, ty < g.tiles_y - 1);
      for (int tx = tx_first; tx <= tx_last; ++tx) {
        const int px = x - tx * step;
        const float w = wy * blend_weight(px, g.tile, g.overlap, tx > 0, tx < g.tiles_x - 1);
        const In* source = tiles + (static_cast<int64_t>(ty) * g.tiles_x + tx) * 3 * plane +
                           static_cast<int64_t>(py) * g.tile + px;
        // fminf/fmaxf also turn NaN into 0, so bad network output cannot reach the byte conversion.
        for (int c = 0; c < 3; ++c) sum[c] += w * fminf(fmaxf(to_float(source[c * plane]), 0.0f), 1.0f);
        weight_sum += w;
      }
    }
    for (int c = 0; c < 3; ++c) {
      const float level = roundf(sum[c] / weight_sum * 255.0f);
      rgb[i * 3 + c] = static_cast<uint8_t>(fminf(fmaxf(level, 0.0f), 255.0f));
    }
  }
}

// FSQ constants, computed on the host with the same float arithmetic as odp::model::FiniteScalarQuantizer.
struct FsqParams {
  int dims;
  int levels[kMaxFsqDims];
  int half_width[kMaxFsqDims];
  float half_l[kMaxFsqDims], offset[kMaxFsqDims], shift[kMaxFsqDims];
  long long basis[kMaxFsqDims];
  long long codebook;
};

FsqParams make_fsq_params(const std::vector<int>& levels) {
  if (levels.empty() || levels.size() > static_cast<size_t>(kMaxFsqDims))
    throw CudaError("fsq: " + std::to_string(levels.size()) + " levels given; 1 to " +
                    std::to_string(kMaxFsqDims) + " supported");
  FsqParams p{};
  p.dims = static_cast<int>(levels.size());
  long long basis = 1;
  for (int i = 0; i < p.dims; ++i) {
    const int L = levels[i];
    // L = 2 gives offset / half_l > 1 and atanh has no value there; L = 1 divides by zero.
    if (L < 3 || L > 65536)
      throw CudaError("fsq: level " + std::to_string(i) + " is " + std::to_string(L) +
                      "; each must be 3..65536");
    p.levels[i] = L;
    p.half_width[i] = L / 2;
    p.half_l[i] = static_cast<float>((L - 1) * (1.0 - 1e-3) / 2.0);
    p.offset[i] = (L % 2 == 0) ? 0.5f : 0.0f;
    p.shift[i] = static_cast<float>(std::atanh(p.offset[i] / p.half_l[i]));
    p.basis[i] = basis;
    if (basis > std::numeric_limits<long long>::max() / L)
      throw CudaError("fsq: the product of the levels overflows a 64-bit index");
    basis *= L;
  }
  p.codebook = basis;
  return p;
}

// One thread per row of d latents.
template <typename In, typename Index, typename Code>
__global__ void fsq_quantize_kernel(const In* __restrict__ latents, int64_t n, FsqParams p,
                                    Index* __restrict__ indices, Code* __restrict__ codes) {
  for (int64_t row = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; row < n;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    long long index = 0;
    for (int i = 0; i < p.dims; ++i) {
      const float z = to_float(latents[row * p.dims + i]);
      const float bounded = tanhf(z + p.shift[i]) * p.half_l[i] - p.offset[i];
      // rintf rounds half to even like torch::round; the clamp only matters for NaN or infinite latents.
      const float q = fminf(fmaxf(rintf(bounded), static_cast<float>(-p.half_width[i])),
                            static_cast<float>(p.levels[i] - 1 - p.half_width[i]));
      const int qi = static_cast<int>(q);
      index += static_cast<long long>(qi + p.half_width[i]) * p.basis[i];
      if (codes) codes[row * p.dims + i] = from_float<Code>(q / static_cast<float>(p.half_width[i]));
    }
    if (indices) indices[row] = static_cast<Index>(index);
  }
}

template <typename Index, typename Code>
__global__ void fsq_codes_kernel(const Index* __restrict__ indices, int64_t n, FsqParams p,
                                 Code* __restrict__ codes) {
  for (int64_t row = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; row < n;
       row += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    long long rest = static_cast<long long>(indices[row]) % p.codebook;
    if (rest < 0) rest += p.codebook;
    for (int i = 0; i < p.dims; ++i) {
      const int digit = static_cast<int>(rest % p.levels[i]);
      rest /= p.levels[i];
      const float half_width = static_cast<float>(p.half_width[i]);
      codes[row * p.dims + i] = from_float<Code>((digit - half_width) / half_width);
    }
  }
}

GridShape checked_shape(const format::TileGrid& grid, const char* operation) {
  const std::string prefix = std::string(operation) + ": tile grid ";
  if (grid.width < 1 || grid.height < 1)
    throw CudaError(prefix + "has image size " + std::to_string(grid.width) + "x" +
                    std::to_string(grid.height));
  // The blend ramps of opposite neighbours must not meet, as TileGrid::make also demands.
  if (grid.tile < 1 || grid.overlap < 0 || grid.overlap > grid.tile / 2)
    throw CudaError(prefix + "has tile " + std::to_string(grid.tile) + " and overlap " +
                    std::to_string(grid.overlap) + "; need tile >= 1 and 0 <= overlap <= tile / 2");
  const int64_t step = grid.tile - grid.overlap;
  const int64_t need_x = static_cast<int64_t>(grid.tiles_x - 1) * step + grid.tile;
  const int64_t need_y = static_cast<int64_t>(grid.tiles_y - 1) * step + grid.tile;
  if (grid.tiles_x < 1 || grid.tiles_y < 1 || need_x < grid.width || need_y < grid.height ||
      static_cast<int64_t>(grid.tiles_x) * grid.tiles_y > INT_MAX)
    throw CudaError(prefix + "of " + std::to_string(grid.tiles_x) + "x" + std::to_string(grid.tiles_y) +
                    " tiles does not cover the image; build it with TileGrid::make");
  return {grid.width, grid.height, grid.tile, grid.overlap, grid.tiles_x, grid.tiles_y};
}

// GELU (erf form) in float, as LibTorch computes it for bf16 tensors before rounding.
__device__ __forceinline__ float gelu_erf(float x) {
  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

// One thread per 8 channels (16 bytes) of one output pixel: reads and writes are whole 16-byte vectors, and
// consecutive threads write consecutive vectors of the output row.
__global__ void gelu_pixel_interleave_kernel(const uint4* __restrict__ y, int64_t n, int h, int w, int c,
                                             uint4* __restrict__ out) {
  const int vectors = c / 8;
  const int64_t total = n * (2LL * h) * (2LL * w) * vectors;
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int v = static_cast<int>(k % vectors);
    int64_t rest = k / vectors;
    const int ox = static_cast<int>(rest % (2 * w));
    rest /= 2 * w;
    const int oy = static_cast<int>(rest % (2 * h));
    const int64_t b = rest / (2 * h);
    const int a = oy & 1, p = ox & 1;
    const int iy = (oy >> 1) + a, ix = (ox >> 1) + p;
    // y is [n, h+1, w+1, 4c]; phase (a, p) is channel block 2a+p.
    const int64_t in = ((b * (h + 1) + iy) * (w + 1) + ix) * (4LL * vectors) + (2 * a + p) * vectors + v;
    uint4 packed = y[in];
    __nv_bfloat162* pairs = reinterpret_cast<__nv_bfloat162*>(&packed);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = __bfloat1622float2(pairs[i]);
      pairs[i] = __floats2bfloat162_rn(gelu_erf(f.x), gelu_erf(f.y));
    }
    out[k] = packed;
  }
}

// gelu_interleave_to_rgb: each block computes a kRgbTile x kRgbTile patch of the RGB output, one output row
// and kRgbRun adjacent pixels per thread. Per 8-channel slice it stages the GELU'd, interleaved values of the
// patch plus a 1-pixel border in shared memory (as float, rounded to bf16 first like the unfused stage's
// output), then every thread accumulates its 3x3 window from registers; the weights sit in shared memory,
// read as broadcasts.
constexpr int kRgbTile = 32, kRgbRun = 4, kRgbHalo = kRgbTile + 2, kRgbMaxChannels = 64;
static_assert(kRgbTile * (kRgbTile / kRgbRun) == kThreads, "one thread per run of output pixels");
// A halo pixel's two float4s sit at slot 2*column + column/4 of its row: the eight threads of a quarter warp
// read columns 4 apart, which without the skew would all fall in the same shared-memory banks.
constexpr int kRgbRowSlots = 2 * kRgbHalo + kRgbHalo / 4 + 1;
__device__ __forceinline__ int halo_slot(int row, int column) {
  return row * kRgbRowSlots + 2 * column + column / 4;
}

__global__ void gelu_interleave_to_rgb_kernel(const uint4* __restrict__ y, int h, int w, int c,
                                              const __nv_bfloat16* __restrict__ weight,
                                              const __nv_bfloat16* __restrict__ bias,
                                              __nv_bfloat16* __restrict__ out) {
  __shared__ float4 halo[kRgbHalo * kRgbRowSlots];  // one 8-channel slice, channels 0-3 then 4-7 (halo_slot)
  __shared__ float taps[kRgbMaxChannels / 8][9][3][8];  // [slice][dy*3+dx][output channel][channel in slice]
  const int vectors = c / 8, out_h = 2 * h, out_w = 2 * w;
  const int64_t b = blockIdx.z;
  const int row0 = blockIdx.y * kRgbTile, col0 = blockIdx.x * kRgbTile;
  for (int i = threadIdx.x; i < 3 * c * 9; i += blockDim.x) {
    const int k = i / (c * 9), ch = (i / 9) % c, tap = i % 9;  // weight is [3][c][3][3]
    taps[ch / 8][tap][k][ch % 8] = __bfloat162float(weight[i]);
  }
  const int my_row = threadIdx.x / (kRgbTile / kRgbRun),
            my_col = (threadIdx.x % (kRgbTile / kRgbRun)) * kRgbRun;
  float acc[3][kRgbRun];
#pragma unroll
  for (int k = 0; k < 3; ++k)
#pragma unroll
    for (int j = 0; j < kRgbRun; ++j) acc[k][j] = 0.0f;

  for (int v = 0; v < vectors; ++v) {
    __syncthreads();  // the previous slice's reads are done (and, the first time, the weights are in place)
    for (int i = threadIdx.x; i < kRgbHalo * kRgbHalo; i += blockDim.x) {
      const int r = i / kRgbHalo, s = i % kRgbHalo;
      const int oy = row0 - 1 + r, ox = col0 - 1 + s;
      float f[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // to_rgb's zero padding outside the image
      if (oy >= 0 && oy < out_h && ox >= 0 && ox < out_w) {
        const int a = oy & 1, p = ox & 1;
        const int64_t in = ((b * (h + 1) + (oy >> 1) + a) * (w + 1) + (ox >> 1) + p) * (4LL * vectors) +
                           (2 * a + p) * vectors + v;
        uint4 packed = y[in];
        const __nv_bfloat162* pairs = reinterpret_cast<const __nv_bfloat162*>(&packed);
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const float2 x = __bfloat1622float2(pairs[q]);
          const float2 g = __bfloat1622float2(__floats2bfloat162_rn(gelu_erf(x.x), gelu_erf(x.y)));
          f[2 * q] = g.x;
          f[2 * q + 1] = g.y;
        }
      }
      halo[halo_slot(r, s)] = make_float4(f[0], f[1], f[2], f[3]);
      halo[halo_slot(r, s) + 1] = make_float4(f[4], f[5], f[6], f[7]);
    }
    __syncthreads();
#pragma unroll
    for (int dy = 0; dy < 3; ++dy) {
      float4 window[kRgbRun + 2][2];
#pragma unroll
      for (int s = 0; s < kRgbRun + 2; ++s) {
        window[s][0] = halo[halo_slot(my_row + dy, my_col + s)];
        window[s][1] = halo[halo_slot(my_row + dy, my_col + s) + 1];
      }
#pragma unroll
      for (int dx = 0; dx < 3; ++dx) {
#pragma unroll
        for (int k = 0; k < 3; ++k) {
          const float4 w0 = *reinterpret_cast<const float4*>(&taps[v][dy * 3 + dx][k][0]);
          const float4 w1 = *reinterpret_cast<const float4*>(&taps[v][dy * 3 + dx][k][4]);
#pragma unroll
          for (int j = 0; j < kRgbRun; ++j) {
            const float4 x0 = window[j + dx][0], x1 = window[j + dx][1];
            acc[k][j] += w0.x * x0.x + w0.y * x0.y + w0.z * x0.z + w0.w * x0.w + w1.x * x1.x + w1.y * x1.y +
                         w1.z * x1.z + w1.w * x1.w;
          }
        }
      }
    }
  }
  const int oy = row0 + my_row;
  if (oy >= out_h) return;
#pragma unroll
  for (int k = 0; k < 3; ++k) {
    const float bias_k = __bfloat162float(bias[k]);
#pragma unroll
    for (int j = 0; j < kRgbRun; ++j) {
      const int ox = col0 + my_col + j;
      if (ox < out_w) out[((b * 3 + k) * out_h + oy) * out_w + ox] = __float2bfloat16_rn(acc[k][j] + bias_k);
    }
  }
}

// odp::model::byte_from_unit in float: clamp to [0,1], one rounded product by 255 (no fused multiply-add),
// then halves away from zero by comparing the exact fraction with 0.5.
template <typename In>
__global__ void bytes_from_unit_kernel(const In* __restrict__ values, int64_t n, uint8_t* __restrict__ out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float scaled = __fmul_rn(fminf(fmaxf(to_float(values[i]), 0.0f), 1.0f), 255.0f);
    const float whole = floorf(scaled);
    out[i] = static_cast<uint8_t>(whole + (scaled - whole >= 0.5f ? 1.0f : 0.0f));
  }
}

void require_pointer(const void* pointer, const char* operation, const char* name) {
  if (!pointer) throw CudaError(std::string(operation) + ": " + name + " is a null pointer");
}

}  // namespace

size_t size_of(RealType type) { return type == RealType::kFloat32 ? sizeof(float) : sizeof(__nv_bfloat16); }
size_t size_of(IndexType type) { return type == IndexType::kInt32 ? sizeof(int32_t) : sizeof(int64_t); }

void check(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess) throw CudaError("CUDA: " + what + ": " + cudaGetErrorString(status));
}

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: clear the sticky error so later calls start clean
    return 0;
  }
  return count;
}

size_t device_memory_in_use() {
  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  return total_bytes - free_bytes;
}

void extract_tiles(const uint8_t* rgb, const format::TileGrid& grid, int first_tile, int tile_count,
                   void* tiles, RealType tile_type, cudaStream_t stream) {
  const GridShape shape = checked_shape(grid, "extract_tiles");
  if (first_tile < 0 || tile_count < 0 || first_tile > grid.count() - tile_count)
    throw CudaError("extract_tiles: tiles " + std::to_string(first_tile) + " + " +
                    std::to_string(tile_count) + " are outside the grid of " + std::to_string(grid.count()));
  if (tile_count == 0) return;
  require_pointer(rgb, "extract_tiles", "rgb");
  require_pointer(tiles, "extract_tiles", "tiles");
  const int64_t work = static_cast<int64_t>(tile_count) * grid.tile * grid.tile;
  with_real(tile_type, [&](auto tag) {
    using Out = typename decltype(tag)::type;
    extract_tiles_kernel<Out><<<blocks_for(work), kThreads, 0, stream>>>(rgb, shape, first_tile, tile_count,
                                                                         static_cast<Out*>(tiles));
  });
  check_launch("extract_tiles");
}

void stitch_tiles(const void* tiles, RealType tile_type, const format::TileGrid& grid, uint8_t* rgb,
                  cudaStream_t stream) {
  const GridShape shape = checked_shape(grid, "stitch_tiles");
  require_pointer(tiles, "stitch_tiles", "tiles");
  require_pointer(rgb, "stitch_tiles", "rgb");
  const int64_t work = static_cast<int64_t>(grid.width) * grid.height;
  with_real(tile_type, [&](auto tag) {
    using In = typename decltype(tag)::type;
    stitch_tiles_kernel<In>
        <<<blocks_for(work), kThreads, 0, stream>>>(static_cast<const In*>(tiles), shape, rgb);
  });
  check_launch("stitch_tiles");
}

void fsq_quantize(const void* latents, RealType latent_type, int64_t n, const std::vector<int>& levels,
                  void* indices, IndexType index_type, void* codes, RealType code_type, cudaStream_t stream) {
  const FsqParams params = make_fsq_params(levels);
  if (n < 0) throw CudaError("fsq_quantize: row count " + std::to_string(n) + " is negative");
  if (indices && index_type == IndexType::kInt32 && params.codebook > INT32_MAX)
    throw CudaError("fsq_quantize: codebook of " + std::to_string(params.codebook) +
                    " entries does not fit int32 indices; ask for int64");
  if (n == 0 || (!indices && !codes)) return;
  require_pointer(latents, "fsq_quantize", "latents");
  with_real(latent_type, [&](auto in_tag) {
    with_index(index_type, [&](auto index_tag) {
      with_real(code_type, [&](auto code_tag) {
        using In = typename decltype(in_tag)::type;
        using Index = typename decltype(index_tag)::type;
        using Code = typename decltype(code_tag)::type;
        fsq_quantize_kernel<In, Index, Code>
            <<<blocks_for(n), kThreads, 0, stream>>>(static_cast<const In*>(latents), n, params,
                                                     static_cast<Index*>(indices), static_cast<Code*>(codes));
      });
    });
  });
  check_launch("fsq_quantize");
}

void fsq_codes_from_indices(const void* indices, IndexType index_type, int64_t n,
                            const std::vector<int>& levels, void* codes, RealType code_type,
                            cudaStream_t stream) {
  const FsqParams params = make_fsq_params(levels);
  if (n < 0) throw CudaError("fsq_codes_from_indices: row count " + std::to_string(n) + " is negative");
  if (n == 0) return;
  require_pointer(indices, "fsq_codes_from_indices", "indices");
  require_pointer(codes, "fsq_codes_from_indices", "codes");
  with_index(index_type, [&](auto index_tag) {
    with_real(code_type, [&](auto code_tag) {
      using Index = typename decltype(index_tag)::type;
      using Code = typename decltype(code_tag)::type;
      fsq_codes_kernel<Index, Code><<<blocks_for(n), kThreads, 0, stream>>>(
          static_cast<const Index*>(indices), n, params, static_cast<Code*>(codes));
    });
  });
  check_launch("fsq_codes_from_indices");
}

void gelu_pixel_interleave(const void* y, int64_t n, int h, int w, int c, void* out, cudaStream_t stream) {
  if (n < 0 || h < 1 || w < 1 || c < 8 || c % 8 != 0)
    throw CudaError(
        "gelu_pixel_interleave: needs n >= 0, h and w >= 1 and c a positive multiple of 8 (got n " +
        std::to_string(n) + ", h " + std::to_string(h) + ", w " + std::to_string(w) + ", c " +
        std::to_string(c) + ")");
  if (n == 0) return;
  require_pointer(y, "gelu_pixel_interleave", "y");
  require_pointer(out, "gelu_pixel_interleave", "out");
  // 16-byte vector loads and stores: both buffers must be 16-byte aligned (LibTorch's allocations are).
  if (reinterpret_cast<uintptr_t>(y) % 16 != 0 || reinterpret_cast<uintptr_t>(out) % 16 != 0)
    throw CudaError("gelu_pixel_interleave: y and out must be 16-byte aligned");
  const int64_t work = n * 4LL * h * w * (c / 8);
  gelu_pixel_interleave_kernel<<<blocks_for(work), kThreads, 0, stream>>>(static_cast<const uint4*>(y), n, h,
                                                                          w, c, static_cast<uint4*>(out));
  check_launch("gelu_pixel_interleave");
}

void gelu_interleave_to_rgb(const void* y, int64_t n, int h, int w, int c, const void* weight,
                            const void* bias, void* out, cudaStream_t stream) {
  if (n < 0 || h < 1 || w < 1 || c < 8 || c % 8 != 0 || c > kRgbMaxChannels)
    throw CudaError("gelu_interleave_to_rgb: needs n >= 0, h and w >= 1 and c a multiple of 8 up to " +
                    std::to_string(kRgbMaxChannels) + " (got n " + std::to_string(n) + ", h " +
                    std::to_string(h) + ", w " + std::to_string(w) + ", c " + std::to_string(c) + ")");
  if (n > 65535)
    throw CudaError("gelu_interleave_to_rgb: at most 65535 images per call (got " + std::to_string(n) + ")");
  if (n == 0) return;
  require_pointer(y, "gelu_interleave_to_rgb", "y");
  require_pointer(weight, "gelu_interleave_to_rgb", "weight");
  require_pointer(bias, "gelu_interleave_to_rgb", "bias");
  require_pointer(out, "gelu_interleave_to_rgb", "out");
  if (reinterpret_cast<uintptr_t>(y) % 16 != 0)
    throw CudaError("gelu_interleave_to_rgb: y must be 16-byte aligned");
  const dim3 blocks((2 * w + kRgbTile - 1) / kRgbTile, (2 * h + kRgbTile - 1) / kRgbTile,
                    static_cast<unsigned>(n));
  gelu_interleave_to_rgb_kernel<<<blocks, kThreads, 0, stream>>>(
      static_cast<const uint4*>(y), h, w, c, static_cast<const __nv_bfloat16*>(weight),
      static_cast<const __nv_bfloat16*>(bias), static_cast<__nv_bfloat16*>(out));
  check_launch("gelu_interleave_to_rgb");
}

void bytes_from_unit(const void* values, RealType value_type, int64_t n, uint8_t* out, cudaStream_t stream) {
  if (n < 0) throw CudaError("bytes_from_unit: value count " + std::to_string(n) + " is negative");
  if (n == 0) return;
  require_pointer(values, "bytes_from_unit", "values");
  require_pointer(out, "bytes_from_unit", "out");
  with_real(value_type, [&](auto tag) {
    using In = typename decltype(tag)::type;
    bytes_from_unit_kernel<In>
        <<<blocks_for(n), kThreads, 0, stream>>>(static_cast<const In*>(values), n, out);
  });
  check_launch("bytes_from_unit");
}

}  // namespace odp::cuda
