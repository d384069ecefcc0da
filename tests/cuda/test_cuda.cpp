// Checks the CUDA kernels against scalar CPU references (and codec/'s tiling when linked) on random inputs,
// and the GPU TileModel's byte path and lazy fp32 network when LibTorch is linked.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <random>
#include <vector>

#include "cuda/odp_cuda.h"
#include "format/tile_grid.h"
#ifdef ODP_TEST_WITH_CODEC
#include "codec/tiling.h"
#include "model/tile_model.h"
#include "tests/tiny_model_config.h"
#endif

using odp::cuda::CudaError;
using odp::cuda::IndexType;
using odp::cuda::RealType;
using odp::format::TileGrid;

namespace {

// Owns one device allocation; copies to and from host vectors, checking every call.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) : bytes_(bytes) {
    odp::cuda::check(cudaMalloc(&data_, std::max<size_t>(bytes, 1)), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <typename T>
  static DeviceBuffer from(const std::vector<T>& host) {
    DeviceBuffer buffer(host.size() * sizeof(T));
    odp::cuda::check(cudaMemcpy(buffer.data_, host.data(), buffer.bytes_, cudaMemcpyHostToDevice), "upload");
    return buffer;
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept : data_(other.data_), bytes_(other.bytes_) {
    other.data_ = nullptr;
  }
  // Fills every byte with a value no kernel writes by accident, so unwritten outputs show.
  void poison(int byte) { odp::cuda::check(cudaMemset(data_, byte, bytes_), "cudaMemset"); }
  template <typename T>
  std::vector<T> download() const {
    odp::cuda::check(cudaDeviceSynchronize(), "kernel execution");
    std::vector<T> host(bytes_ / sizeof(T));
    odp::cuda::check(cudaMemcpy(host.data(), data_, host.size() * sizeof(T), cudaMemcpyDeviceToHost),
                     "download");
    return host;
  }
  void* get() { return data_; }
  template <typename T>
  T* as() {
    return static_cast<T*>(data_);
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// Float -> bf16 bits, round to nearest even (the inputs here are finite).
uint16_t bf16_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  return static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}
float bf16_value(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}

// The grid rule of format/tile_grid.h, restated so the reference does not depend on the code under
// comparison.
TileGrid reference_grid(int width, int height, int tile, int overlap) {
  auto count = [&](int length) {
    return length <= tile ? 1 : (length - overlap + (tile - overlap) - 1) / (tile - overlap);
  };
  TileGrid grid;
  grid.width = width;
  grid.height = height;
  grid.tile = tile;
  grid.overlap = overlap;
  grid.tiles_x = count(width);
  grid.tiles_y = count(height);
  return grid;
}

int reference_reflect(int i, int n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

std::vector<float> reference_extract(const std::vector<uint8_t>& rgb, const TileGrid& g) {
  const size_t plane = static_cast<size_t>(g.tile) * g.tile;
  std::vector<float> tiles(plane * 3 * g.count());
  for (int t = 0; t < g.count(); ++t)
    for (int y = 0; y < g.tile; ++y)
      for (int x = 0; x < g.tile; ++x) {
        const int sx = reference_reflect(g.origin_x(t % g.tiles_x) + x, g.width);
        const int sy = reference_reflect(g.origin_y(t / g.tiles_x) + y, g.height);
        for (int c = 0; c < 3; ++c)
          tiles[(t * 3 + c) * plane + y * g.tile + x] =
              rgb[(static_cast<size_t>(sy) * g.width + sx) * 3 + c] / 255.0f;
      }
  return tiles;
}

double reference_weight(int p, const TileGrid& g, bool has_low, bool has_high) {
  if (has_low && p < g.overlap) return (p + 0.5) / g.overlap;
  if (has_high && p >= g.tile - g.overlap) return (g.tile - 1 - p + 0.5) / g.overlap;
  return 1.0;
}

// Exact blended value (before rounding) of every output byte, in double.
std::vector<double> reference_stitch(const std::vector<float>& tiles, const TileGrid& g) {
  const size_t plane = static_cast<size_t>(g.tile) * g.tile;
  std::vector<double> sum(static_cast<size_t>(g.width) * g.height * 3, 0.0), weight(sum.size() / 3, 0.0);
  for (int t = 0; t < g.count(); ++t) {
    const int tx = t % g.tiles_x, ty = t / g.tiles_x;
    for (int y = 0; y < g.tile; ++y)
      for (int x = 0; x < g.tile; ++x) {
        const int ix = g.origin_x(tx) + x, iy = g.origin_y(ty) + y;
        if (ix >= g.width || iy >= g.height) continue;
        const double w = reference_weight(x, g, tx > 0, tx < g.tiles_x - 1) *
                         reference_weight(y, g, ty > 0, ty < g.tiles_y - 1);
        const size_t pixel = static_cast<size_t>(iy) * g.width + ix;
        weight[pixel] += w;
        for (int c = 0; c < 3; ++c)
          sum[pixel * 3 + c] += w * std::clamp<double>(tiles[(t * 3 + c) * plane + y * g.tile + x], 0.0, 1.0);
      }
  }
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = sum[i] / weight[i / 3] * 255.0;
  return sum;
}

struct Geometry {
  int width, height, tile, overlap;
};
// Edge cases first: a single pixel, images smaller than a tile, widths of 1, overlaps up to tile / 2.
const std::vector<Geometry> kGeometries = {{1, 1, 16, 0},   {5, 3, 16, 4},     {1, 40, 16, 8},
                                           {37, 23, 16, 4}, {64, 48, 16, 0},   {100, 70, 32, 8},
                                           {17, 40, 8, 4},  {300, 200, 64, 16}};

std::vector<uint8_t> random_bytes(size_t count, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> out(count);
  for (auto& b : out) b = static_cast<uint8_t>(byte(rng));
  return out;
}

std::vector<float> random_floats(size_t count, float low, float high, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(low, high);
  std::vector<float> out(count);
  for (auto& v : out) v = value(rng);
  return out;
}

// A float buffer as the device should hold it for the given type (bf16 rounded to nearest even).
DeviceBuffer upload_as(const std::vector<float>& values, RealType type) {
  if (type == RealType::kFloat32) return DeviceBuffer::from(values);
  std::vector<uint16_t> bits(values.size());
  std::transform(values.begin(), values.end(), bits.begin(), bf16_bits);
  return DeviceBuffer::from(bits);
}
std::vector<float> download_as(const DeviceBuffer& buffer, RealType type) {
  if (type == RealType::kFloat32) return buffer.download<float>();
  const auto bits = buffer.download<uint16_t>();
  std::vector<float> values(bits.size());
  std::transform(bits.begin(), bits.end(), values.begin(), bf16_value);
  return values;
}
float round_as(float value, RealType type) {
  return type == RealType::kFloat32 ? value : bf16_value(bf16_bits(value));
}

TileGrid grid_for(const Geometry& geo) {
#ifdef ODP_TEST_WITH_CODEC
  const TileGrid grid = TileGrid::make(geo.width, geo.height, geo.tile, geo.overlap);
  const TileGrid expected = reference_grid(geo.width, geo.height, geo.tile, geo.overlap);
  REQUIRE(grid.tiles_x == expected.tiles_x);
  REQUIRE(grid.tiles_y == expected.tiles_y);
  return grid;
#else
  return reference_grid(geo.width, geo.height, geo.tile, geo.overlap);
#endif
}

const RealType kRealTypes[] = {RealType::kFloat32, RealType::kBFloat16};

}  // namespace

TEST_CASE("extract_tiles matches the CPU tiling for every tile range and type", "[gpu]") {
  std::mt19937 rng(1234);
  for (const auto& geo : kGeometries) {
    const TileGrid grid = grid_for(geo);
    const auto rgb = random_bytes(static_cast<size_t>(geo.width) * geo.height * 3, rng);
    const auto expected = reference_extract(rgb, grid);
#ifdef ODP_TEST_WITH_CODEC
    std::vector<float> codec_tiles(expected.size());
    odp::codec::extract_tiles(rgb.data(), grid, codec_tiles.data());
    REQUIRE(codec_tiles == expected);
#endif
    DeviceBuffer device_rgb = DeviceBuffer::from(rgb);
    const size_t tile_values = static_cast<size_t>(3) * grid.tile * grid.tile;
    // The whole grid, then a range that starts inside it.
    const int first = grid.count() / 2;
    for (const auto& [first_tile, count] :
         {std::pair{0, grid.count()}, std::pair{first, grid.count() - first}}) {
      for (RealType type : kRealTypes) {
        CAPTURE(geo.width, geo.height, geo.tile, geo.overlap, first_tile, static_cast<int>(type));
        DeviceBuffer out(tile_values * count * odp::cuda::size_of(type));
        out.poison(0xFF);  // NaN in both float and bf16
        odp::cuda::extract_tiles(device_rgb.as<uint8_t>(), grid, first_tile, count, out.get(), type, nullptr);
        const auto got = download_as(out, type);
        size_t mismatches = 0;
        for (size_t i = 0; i < got.size(); ++i)
          mismatches += !(got[i] == round_as(expected[first_tile * tile_values + i], type));
        CHECK(mismatches == 0);
      }
    }
  }
}

TEST_CASE("stitch_tiles matches the CPU blending within one level", "[gpu]") {
  std::mt19937 rng(99);
  for (const auto& geo : kGeometries) {
    const TileGrid grid = grid_for(geo);
    const size_t values = static_cast<size_t>(grid.count()) * 3 * grid.tile * grid.tile;
    // Slightly outside [0,1] so that the clamp is exercised.
    const auto tiles = random_floats(values, -0.1f, 1.1f, rng);
    for (RealType type : kRealTypes) {
      CAPTURE(geo.width, geo.height, geo.tile, geo.overlap, static_cast<int>(type));
      std::vector<float> as_stored(tiles.size());
      std::transform(tiles.begin(), tiles.end(), as_stored.begin(),
                     [&](float v) { return round_as(v, type); });
      const auto exact = reference_stitch(as_stored, grid);
      DeviceBuffer device_tiles = upload_as(tiles, type);
      DeviceBuffer out(exact.size());
      std::vector<std::vector<uint8_t>> runs;
      for (int poison : {0x00, 0xFF}) {  // a byte the kernel skipped would differ between the two runs
        out.poison(poison);
        odp::cuda::stitch_tiles(device_tiles.get(), type, grid, out.as<uint8_t>(), nullptr);
        runs.push_back(out.download<uint8_t>());
      }
      CHECK(runs[0] == runs[1]);
      size_t off_by_more_than_one = 0;
      for (size_t i = 0; i < exact.size(); ++i) off_by_more_than_one += std::abs(runs[0][i] - exact[i]) > 1.0;
      CHECK(off_by_more_than_one == 0);
#ifdef ODP_TEST_WITH_CODEC
      std::vector<uint8_t> codec_rgb(exact.size());
      odp::codec::stitch_tiles(as_stored.data(), grid, codec_rgb.data());
      size_t codec_differs = 0;
      for (size_t i = 0; i < exact.size(); ++i) codec_differs += std::abs(codec_rgb[i] - runs[0][i]) > 1;
      CHECK(codec_differs == 0);
#endif
    }
  }
}

namespace {

// FSQ in double precision, as model/network.h defines it; fills the rounded level q and how far the bounded
// value lies from the nearest rounding boundary.
struct FsqReference {
  std::vector<int64_t> indices;
  std::vector<double> codes;
  size_t near_boundary_rows = 0;
  std::vector<bool> row_near_boundary;
};

FsqReference reference_fsq(const std::vector<float>& latents, const std::vector<int>& levels) {
  const size_t d = levels.size(), n = latents.size() / d;
  FsqReference ref{std::vector<int64_t>(n), std::vector<double>(n * d), 0, std::vector<bool>(n)};
  for (size_t row = 0; row < n; ++row) {
    int64_t index = 0, basis = 1;
    for (size_t i = 0; i < d; ++i) {
      const int L = levels[i];
      const double half_l = (L - 1) * (1 - 1e-3) / 2, offset = L % 2 == 0 ? 0.5 : 0.0;
      const double bounded = std::tanh(latents[row * d + i] + std::atanh(offset / half_l)) * half_l - offset;
      const double q = std::nearbyint(bounded);  // the default rounding mode: half to even
      if (std::abs(std::abs(bounded - std::floor(bounded)) - 0.5) < 1e-4) ref.row_near_boundary[row] = true;
      index += (static_cast<int64_t>(q) + L / 2) * basis;
      basis *= L;
      ref.codes[row * d + i] = q / (L / 2);
    }
    ref.indices[row] = index;
    ref.near_boundary_rows += ref.row_near_boundary[row];
  }
  return ref;
}

std::vector<int64_t> download_indices(const DeviceBuffer& buffer, IndexType type) {
  if (type == IndexType::kInt64) return buffer.download<int64_t>();
  const auto narrow = buffer.download<int32_t>();
  return std::vector<int64_t>(narrow.begin(), narrow.end());
}

}  // namespace

TEST_CASE("fsq_quantize gives the exact indices and codes of the double-precision reference", "[gpu]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  const std::vector<std::vector<int>> level_sets = {
      {8, 8, 8, 8}, {8, 5, 5, 5}, {7, 3, 16}, {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8}};
  const int64_t n = 200000;
  for (const auto& levels : level_sets) {
    for (RealType latent_type : kRealTypes) {
      std::vector<float> latents(n * levels.size());
      for (auto& z : latents) z = round_as(normal(rng), latent_type);  // the reference sees what the GPU sees
      const FsqReference ref = reference_fsq(latents, levels);
      DeviceBuffer device_latents = upload_as(latents, latent_type);
      size_t most_boundary_mismatches = 0;
      for (IndexType index_type : {IndexType::kInt32, IndexType::kInt64}) {
        int64_t codebook = 1;
        for (int L : levels) codebook *= L;
        if (index_type == IndexType::kInt32 && codebook > INT32_MAX) {
          DeviceBuffer small(n * 4);
          CHECK_THROWS_AS(odp::cuda::fsq_quantize(device_latents.get(), latent_type, n, levels, small.get(),
                                                  index_type, nullptr, RealType::kFloat32, nullptr),
                          CudaError);
          continue;
        }
        for (RealType code_type : kRealTypes) {
          CAPTURE(levels.size(), levels[0], static_cast<int>(latent_type), static_cast<int>(index_type),
                  static_cast<int>(code_type));
          DeviceBuffer indices(n * odp::cuda::size_of(index_type));
          DeviceBuffer codes(n * levels.size() * odp::cuda::size_of(code_type));
          indices.poison(0xFF);  // -1, never a valid index
          codes.poison(0xFF);    // NaN
          odp::cuda::fsq_quantize(device_latents.get(), latent_type, n, levels, indices.get(), index_type,
                                  codes.get(), code_type, nullptr);
          const auto got_indices = download_indices(indices, index_type);
          const auto got_codes = download_as(codes, code_type);
          size_t index_mismatches = 0, code_mismatches = 0, boundary_mismatches = 0;
          for (int64_t row = 0; row < n; ++row) {
            const bool wrong = got_indices[row] != ref.indices[row];
            if (ref.row_near_boundary[row]) {
              boundary_mismatches += wrong;
              continue;
            }
            index_mismatches += wrong;
            for (size_t i = 0; i < levels.size(); ++i)
              code_mismatches += got_codes[row * levels.size() + i] !=
                                 round_as(static_cast<float>(ref.codes[row * levels.size() + i]), code_type);
          }
          CHECK(index_mismatches == 0);
          CHECK(code_mismatches == 0);
          most_boundary_mismatches = std::max(most_boundary_mismatches, boundary_mismatches);
        }
      }
      // Rows with a bounded value within 1e-4 of a rounding boundary are left out of the exact check.
      WARN("fsq levels " << levels.size() << "x" << levels[0]
                         << (latent_type == RealType::kFloat32 ? " f32" : " bf16") << ": "
                         << ref.near_boundary_rows << " of " << n << " rows near a rounding boundary, up to "
                         << most_boundary_mismatches << " of them differ");
    }
  }
}

TEST_CASE("fsq_codes_from_indices inverts the index and reduces out-of-range indices", "[gpu]") {
  std::mt19937_64 rng(11);
  const std::vector<int> levels = {8, 5, 7, 8};
  const int64_t codebook = 8 * 5 * 7 * 8, n = 100000;
  std::uniform_int_distribution<int64_t> index(-3 * codebook, 3 * codebook);
  std::vector<int64_t> indices(n);
  for (auto& i : indices) i = index(rng);
  for (IndexType index_type : {IndexType::kInt32, IndexType::kInt64}) {
    DeviceBuffer device_indices =
        index_type == IndexType::kInt64
            ? DeviceBuffer::from(indices)
            : DeviceBuffer::from(std::vector<int32_t>(indices.begin(), indices.end()));
    for (RealType code_type : kRealTypes) {
      CAPTURE(static_cast<int>(index_type), static_cast<int>(code_type));
      DeviceBuffer codes(n * levels.size() * odp::cuda::size_of(code_type));
      codes.poison(0xFF);
      odp::cuda::fsq_codes_from_indices(device_indices.get(), index_type, n, levels, codes.get(), code_type,
                                        nullptr);
      const auto got = download_as(codes, code_type);
      size_t mismatches = 0;
      for (int64_t row = 0; row < n; ++row) {
        int64_t rest = ((indices[row] % codebook) + codebook) % codebook;
        for (size_t i = 0; i < levels.size(); ++i) {
          const int half = levels[i] / 2, digit = static_cast<int>(rest % levels[i]);
          rest /= levels[i];
          mismatches +=
              got[row * levels.size() + i] != round_as(static_cast<float>(digit - half) / half, code_type);
        }
      }
      CHECK(mismatches == 0);
    }
  }
}

TEST_CASE("fsq round trip: codes from quantize's indices equal quantize's codes", "[gpu]") {
  std::mt19937 rng(5);
  const std::vector<int> levels = {8, 8, 8, 8};
  const int64_t n = 50000;
  DeviceBuffer latents = DeviceBuffer::from(random_floats(n * 4, -4.0f, 4.0f, rng));
  DeviceBuffer indices(n * 8), direct(n * 4 * 4), via_index(n * 4 * 4);
  direct.poison(0xFF);
  via_index.poison(0x7F);
  odp::cuda::fsq_quantize(latents.get(), RealType::kFloat32, n, levels, indices.get(), IndexType::kInt64,
                          direct.get(), RealType::kFloat32, nullptr);
  odp::cuda::fsq_codes_from_indices(indices.get(), IndexType::kInt64, n, levels, via_index.get(),
                                    RealType::kFloat32, nullptr);
  CHECK(direct.download<float>() == via_index.download<float>());
}

TEST_CASE("bytes_from_unit gives the codec's byte_from_unit of every value", "[gpu]") {
  // Random values around [0,1], the exact halves k + 0.5 between bytes and their float neighbours, the ends.
  std::mt19937 rng(53);
  auto values = random_floats(100000, -0.25f, 1.25f, rng);
  for (int k = 0; k < 255; ++k) {
    const float half = (k + 0.5f) / 255.0f;
    values.insert(values.end(), {half, std::nextafter(half, 0.0f), std::nextafter(half, 1.0f)});
  }
  values.insert(values.end(), {0.0f, 1.0f, -0.0f, -1e30f, 1e30f});
  for (const RealType type : {RealType::kFloat32, RealType::kBFloat16}) {
    auto device_values = upload_as(values, type);
    DeviceBuffer out(values.size());
    odp::cuda::bytes_from_unit(device_values.get(), type, static_cast<int64_t>(values.size()),
                               out.as<uint8_t>(), nullptr);
    const auto got = out.download<uint8_t>();
    size_t wrong = 0;
    for (size_t i = 0; i < values.size(); ++i)
      wrong += got[i] != odp::model::byte_from_unit(round_as(values[i], type));
    INFO((type == RealType::kFloat32 ? "float32" : "bf16") << " values");
    CHECK(wrong == 0);
  }
}

TEST_CASE("gelu_pixel_interleave puts GELU of each phase at its output pixel", "[gpu]") {
  // y: [n, h+1, w+1, 4c]; output (b, 2i+a, 2j+p, ch) = GELU(y[b, i+a, j+p, (2a+p)c + ch]), rounded to bf16.
  const int n = 2, h = 3, w = 5, c = 16;
  std::mt19937 rng(31);
  const auto values = random_floats(static_cast<size_t>(n) * (h + 1) * (w + 1) * 4 * c, -4.0f, 4.0f, rng);
  auto y = upload_as(values, RealType::kBFloat16);
  DeviceBuffer out(static_cast<size_t>(n) * 2 * h * 2 * w * c * 2);
  out.poison(0xFF);  // bf16 0xFFFF is a NaN: any output the kernel skips shows
  odp::cuda::gelu_pixel_interleave(y.get(), n, h, w, c, out.get(), nullptr);
  const auto got = download_as(out, RealType::kBFloat16);
  size_t off_by_one_step = 0, wrong = 0;
  for (int b = 0; b < n; ++b)
    for (int oy = 0; oy < 2 * h; ++oy)
      for (int ox = 0; ox < 2 * w; ++ox)
        for (int ch = 0; ch < c; ++ch) {
          const int a = oy % 2, p = ox % 2;
          const size_t in = ((static_cast<size_t>(b) * (h + 1) + oy / 2 + a) * (w + 1) + ox / 2 + p) * 4 * c +
                            (2 * a + p) * c + ch;
          const double x = round_as(values[in], RealType::kBFloat16);
          const float expected = round_as(static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)))),
                                          RealType::kBFloat16);
          const float value = got[((static_cast<size_t>(b) * 2 * h + oy) * 2 * w + ox) * c + ch];
          if (value == expected) continue;
          // The device's erff and the host's erf may differ in the last float bit, which can move a bf16
          // rounding.
          const bool one_step = std::abs(value - expected) <= std::abs(expected) / 128.0f + 1e-30f;
          (one_step ? off_by_one_step : wrong) += 1;
        }
  INFO(off_by_one_step << " values one bf16 step off");
  CHECK(wrong == 0);
  CHECK(off_by_one_step <= got.size() / 100);
}

TEST_CASE("gelu_interleave_to_rgb equals gelu_pixel_interleave followed by the 3x3 RGB convolution",
          "[gpu]") {
  // Shapes smaller than one 32x32 block of output, and several blocks with partial ones at the right and
  // bottom.
  struct Shape {
    int n, h, w, c;
  };
  for (const Shape shape : {Shape{2, 3, 5, 16}, Shape{1, 20, 17, 32}, Shape{1, 16, 16, 64}}) {
    const int n = shape.n, h = shape.h, w = shape.w, c = shape.c, out_h = 2 * h, out_w = 2 * w;
    std::mt19937 rng(47 + c);
    const auto y_values = random_floats(static_cast<size_t>(n) * (h + 1) * (w + 1) * 4 * c, -3.0f, 3.0f, rng);
    const auto weights = random_floats(static_cast<size_t>(3) * c * 9, -0.2f, 0.2f, rng);
    const auto bias = random_floats(3, -0.5f, 0.5f, rng);
    auto y = upload_as(y_values, RealType::kBFloat16);
    auto weight_buffer = upload_as(weights, RealType::kBFloat16);
    auto bias_buffer = upload_as(bias, RealType::kBFloat16);
    DeviceBuffer out(static_cast<size_t>(n) * 3 * out_h * out_w * 2);
    out.poison(0xFF);  // bf16 NaN wherever the kernel writes nothing
    odp::cuda::gelu_interleave_to_rgb(y.get(), n, h, w, c, weight_buffer.get(), bias_buffer.get(), out.get(),
                                      nullptr);
    const auto got = download_as(out, RealType::kBFloat16);

    // The reference: the upsampled image as gelu_pixel_interleave defines it (GELU rounded to bf16), then the
    // convolution in double with bf16 weights, rounded to bf16.
    const auto upsampled = [&](int b, int oy, int ox, int ch) -> double {
      if (oy < 0 || oy >= out_h || ox < 0 || ox >= out_w) return 0.0;  // zero padding
      const int a = oy % 2, p = ox % 2;
      const size_t in = ((static_cast<size_t>(b) * (h + 1) + oy / 2 + a) * (w + 1) + ox / 2 + p) * 4 * c +
                        (2 * a + p) * c + ch;
      const double x = round_as(y_values[in], RealType::kBFloat16);
      return round_as(static_cast<float>(0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)))),
                      RealType::kBFloat16);
    };
    size_t wrong = 0;
    double worst = 0;
    for (int b = 0; b < n; ++b)
      for (int k = 0; k < 3; ++k)
        for (int oy = 0; oy < out_h; ++oy)
          for (int ox = 0; ox < out_w; ++ox) {
            double sum = round_as(bias[k], RealType::kBFloat16), magnitude = std::abs(sum);
            for (int ch = 0; ch < c; ++ch)
              for (int dy = 0; dy < 3; ++dy)
                for (int dx = 0; dx < 3; ++dx) {
                  const double term =
                      round_as(weights[((k * c + ch) * 3 + dy) * 3 + dx], RealType::kBFloat16) *
                      upsampled(b, oy + dy - 1, ox + dx - 1, ch);
                  sum += term;
                  magnitude += std::abs(term);
                }
            const double expected = round_as(static_cast<float>(sum), RealType::kBFloat16);
            const double value = got[((static_cast<size_t>(b) * 3 + k) * out_h + oy) * out_w + ox];
            // Float sums in another order and the device's erff (a bf16 step off for a few inputs, see above)
            // move the result by a bf16 step of itself at most, plus a small share of the terms' magnitude.
            const double error = std::abs(value - expected);
            worst = std::max(worst, error / (magnitude + 1e-30));
            if (!(error <= std::abs(expected) / 128.0 + magnitude / 512.0)) ++wrong;
          }
    INFO("n " << n << ", h " << h << ", w " << w << ", c " << c << ": worst error / magnitude " << worst);
    CHECK(wrong == 0);
  }
}

#ifdef ODP_TEST_WITH_CODEC
namespace {
// A LibTorch built without CUDA can sit beside the kernels (the CPU build machine): then there is no GPU
// model.
bool torch_sees_gpu() {
  if (odp::model::cuda_available()) return true;
  WARN("LibTorch sees no CUDA GPU: the GPU TileModel tests are skipped");
  return false;
}
}  // namespace

TEST_CASE("the GPU TileModel's byte entry points give exactly its float entry points' results", "[gpu]") {
  if (!torch_sees_gpu()) return;
  using odp::model::GpuEncodePrecision;
  const odp::model::ModelConfig config = odp::testing::tiny_model_config();
  auto model = odp::model::TileModel::random(config, 3, odp::model::Device::kCuda);
  const int n = model->preferred_batch() + 3;  // two batches, the second short
  const size_t values = static_cast<size_t>(n) * 3 * config.tile_size * config.tile_size;
  std::mt19937 rng(17);
  const auto bytes = random_bytes(values, rng);
  std::vector<float> floats(values);
  std::transform(bytes.begin(), bytes.end(), floats.begin(), odp::model::unit_from_byte);
  // The device normalises to the same floats the host would pass, so every precision gives the same tokens
  // (LibTorch's inference kernels are deterministic for equal inputs and shapes).
  std::vector<uint16_t> tokens;
  for (auto precision : {GpuEncodePrecision::kBf16, GpuEncodePrecision::kTf32, GpuEncodePrecision::kFp32}) {
    CAPTURE(odp::model::gpu_encode_precision_name(precision));
    model->set_gpu_encode_precision(precision);
    tokens = model->encode(floats.data(), n);
    CHECK(model->encode_bytes(bytes.data(), n) == tokens);
  }
  std::vector<int> keep(n);
  for (int i = 0; i < n; ++i) keep[i] = i % (config.num_tokens + 1);
  std::vector<float> decoded(values);
  std::vector<uint8_t> decoded_bytes(values);
  model->decode(tokens.data(), keep.data(), n, decoded.data());
  model->decode_bytes(tokens.data(), keep.data(), n, decoded_bytes.data());
  size_t wrong = 0, inside = 0;
  for (size_t i = 0; i < values; ++i) {
    wrong += decoded_bytes[i] != odp::model::byte_from_unit(decoded[i]);
    inside += decoded[i] > 0.0f && decoded[i] < 1.0f;
  }
  INFO(inside << " of " << values << " decoded values inside (0,1), the rest clamped");
  CHECK(inside > 0);
  CHECK(wrong == 0);
}

TEST_CASE("GPU decoding (fused kernels, CUDA graphs) stays close to the CPU's fp32 decoding", "[gpu]") {
  if (!torch_sees_gpu()) return;
  const odp::model::ModelConfig config = odp::testing::tiny_model_config();
  auto gpu = odp::model::TileModel::random(config, 7, odp::model::Device::kCuda);
  auto cpu = odp::model::TileModel::random(config, 7, odp::model::Device::kCpu);
  cpu->set_cpu_bf16_decode(false);
  const int n = 5;
  const size_t values = static_cast<size_t>(n) * 3 * config.tile_size * config.tile_size;
  std::mt19937 rng(41);
  std::vector<uint16_t> tokens(static_cast<size_t>(n) * config.num_tokens);
  std::uniform_int_distribution<int> code(0, config.codebook_size() - 1);
  for (auto& t : tokens) t = static_cast<uint16_t>(code(rng));
  std::vector<int> keep = {config.num_tokens, 1, 0, config.num_tokens / 2, config.num_tokens};
  std::vector<float> on_gpu(values), on_cpu(values);
  gpu->decode(tokens.data(), keep.data(), n, on_gpu.data());
  cpu->decode(tokens.data(), keep.data(), n, on_cpu.data());
  double squared = 0, mean = 0, spread = 0;
  for (size_t i = 0; i < values; ++i) {
    squared += (on_gpu[i] - on_cpu[i]) * (on_gpu[i] - on_cpu[i]);
    mean += on_cpu[i];
  }
  mean /= values;
  for (float v : on_cpu) spread += (v - mean) * (v - mean);
  const double psnr = 10 * std::log10(1.0 / std::max(squared / values, 1e-20));
  INFO("GPU vs CPU decode: PSNR " << psnr << " dB; CPU output standard deviation "
                                  << std::sqrt(spread / values));
  // A misplaced phase or channel in the fused kernels moves whole pixels: far below this.
  CHECK(std::sqrt(spread / values) > 0.01);
  CHECK(psnr > 35.0);
}

TEST_CASE("GPU passes replayed as CUDA graphs give the eager passes' results, for every new input", "[gpu]") {
  if (!torch_sees_gpu()) return;
  using odp::model::GpuEncodePrecision;
  const odp::model::ModelConfig config = odp::testing::tiny_model_config();
  auto model = odp::model::TileModel::random(config, 11, odp::model::Device::kCuda);
  model->set_gpu_encode_precision(GpuEncodePrecision::kBf16);
  std::mt19937 rng(43);
  for (int n : {1, 3, 1}) {  // the second batch of 1 replays the graph the first one captured
    CAPTURE(n);
    const size_t values = static_cast<size_t>(n) * 3 * config.tile_size * config.tile_size;
    const auto bytes = random_bytes(values, rng);
    std::vector<int> keep(n);
    for (int i = 0; i < n; ++i) keep[i] = (i * 7 + 5) % (config.num_tokens + 1);
    std::vector<uint8_t> graphed(values), eager(values);
    model->set_gpu_graphs(true);
    const auto graphed_tokens = model->encode_bytes(bytes.data(), n);
    model->decode_bytes(graphed_tokens.data(), keep.data(), n, graphed.data());
    model->set_gpu_graphs(false);
    const auto eager_tokens = model->encode_bytes(bytes.data(), n);
    model->decode_bytes(graphed_tokens.data(), keep.data(), n, eager.data());
    CHECK(graphed_tokens == eager_tokens);
    CHECK(graphed == eager);
  }
}

TEST_CASE("GPU batches padded to 8 or 16 tiles give the unpadded results and write only the caller's tiles",
          "[gpu]") {
  if (!torch_sees_gpu()) return;
  const odp::model::ModelConfig config = odp::testing::tiny_model_config();
  auto model = odp::model::TileModel::random(config, 13, odp::model::Device::kCuda);
  model->set_gpu_encode_precision(odp::model::GpuEncodePrecision::kFp32);
  std::mt19937 rng(47);
  const size_t tile_values = 3ull * config.tile_size * config.tile_size;
  for (bool graphs : {true, false})
    for (int n : {1, 3, 9}) {
      CAPTURE(graphs, n);
      model->set_gpu_graphs(graphs);
      const auto bytes = random_bytes(n * tile_values, rng);
      std::vector<int> keep(n);
      for (int i = 0; i < n; ++i) keep[i] = (i * 5 + 3) % (config.num_tokens + 1);
      // One guard tile past the caller's n: a padded pass must not write its padding there.
      std::vector<uint8_t> plain((n + 1) * tile_values, 77), padded((n + 1) * tile_values, 77);
      model->set_gpu_batch_padding(false);
      const auto plain_tokens = model->encode_bytes(bytes.data(), n);
      model->decode_bytes(plain_tokens.data(), keep.data(), n, plain.data());
      model->set_gpu_batch_padding(true);
      REQUIRE(model->gpu_batch_padding());
      const auto padded_tokens = model->encode_bytes(bytes.data(), n);
      model->decode_bytes(plain_tokens.data(), keep.data(), n, padded.data());
      REQUIRE(padded_tokens.size() == plain_tokens.size());
      // fp32 products of another shape may round differently: a token on an FSQ boundary may flip, rarely.
      size_t flipped = 0;
      for (size_t i = 0; i < plain_tokens.size(); ++i) flipped += padded_tokens[i] != plain_tokens[i];
      INFO(flipped << " of " << plain_tokens.size() << " tokens differ");
      CHECK(flipped * 100 <= plain_tokens.size());
      CHECK(std::all_of(padded.end() - tile_values, padded.end(), [](uint8_t v) { return v == 77; }));
      // The decoder runs in bf16, whose kernels may differ with the batch: close, not always identical.
      double squared = 0;
      for (size_t i = 0; i < n * tile_values; ++i)
        squared += (double(plain[i]) - padded[i]) * (plain[i] - padded[i]);
      const double psnr = 10 * std::log10(255.0 * 255.0 / std::max(squared / (n * tile_values), 1e-20));
      INFO("padded vs unpadded decode: PSNR " << psnr << " dB");
      CHECK(psnr > 40.0);
    }
  model->set_gpu_batch_padding(false);
}

TEST_CASE("the GPU model makes its fp32 network on the first tf32/fp32 encode, from the fp32 weights",
          "[gpu]") {
  if (!torch_sees_gpu()) return;
  using odp::model::GpuEncodePrecision;
  const odp::model::ModelConfig config = odp::testing::tiny_model_config();
  auto model = odp::model::TileModel::random(config, 5, odp::model::Device::kCuda);
  const int64_t bf16_bytes = model->info().parameters * 2;
  CHECK(model->device_weight_bytes() == bf16_bytes);
  const int n = 16;
  const size_t values = static_cast<size_t>(n) * 3 * config.tile_size * config.tile_size;
  std::mt19937 rng(23);
  const auto bytes = random_bytes(values, rng);
  // bf16 encoding and decoding never need the fp32 network.
  model->set_gpu_encode_precision(GpuEncodePrecision::kBf16);
  const auto bf16_tokens = model->encode_bytes(bytes.data(), n);
  std::vector<int> keep(n, config.num_tokens);
  std::vector<uint8_t> decoded(values);
  model->decode_bytes(bf16_tokens.data(), keep.data(), n, decoded.data());
  CHECK(model->device_weight_bytes() == bf16_bytes);
  // The first tf32 encode adds it (4 bytes per weight); fp32 encoding reuses it.
  model->set_gpu_encode_precision(GpuEncodePrecision::kTf32);
  model->encode_bytes(bytes.data(), n);
  CHECK(model->device_weight_bytes() == bf16_bytes * 3);
  model->set_gpu_encode_precision(GpuEncodePrecision::kFp32);
  const auto fp32_tokens = model->encode_bytes(bytes.data(), n);
  CHECK(model->device_weight_bytes() == bf16_bytes * 3);
  // Made from the fp32 weights, not from the bf16 copy: its tokens agree with the CPU's (the same seed gives
  // the same weights) as fp32 did for the shipped model in session 3 (100%; the bf16 encoder: 95.75%).
  auto cpu = odp::model::TileModel::random(config, 5, odp::model::Device::kCpu);
  const auto cpu_tokens = cpu->encode_bytes(bytes.data(), n);
  REQUIRE(cpu_tokens.size() == fp32_tokens.size());
  size_t equal = 0;
  for (size_t i = 0; i < cpu_tokens.size(); ++i) equal += cpu_tokens[i] == fp32_tokens[i];
  INFO(equal << " of " << cpu_tokens.size() << " fp32 GPU tokens equal to the CPU's");
  CHECK(equal >= cpu_tokens.size() * 99 / 100);
}
#endif

TEST_CASE("bad arguments throw CudaError before touching the device", "[host]") {
  TileGrid grid = reference_grid(100, 50, 32, 8);
  int dummy = 0;
  CHECK_THROWS_AS(odp::cuda::extract_tiles(nullptr, grid, 0, 1, &dummy, RealType::kFloat32, nullptr),
                  CudaError);
  CHECK_THROWS_AS(odp::cuda::extract_tiles(reinterpret_cast<uint8_t*>(&dummy), grid, grid.count(), 1, &dummy,
                                           RealType::kFloat32, nullptr),
                  CudaError);
  TileGrid too_few = grid;
  too_few.tiles_x = 1;
  CHECK_THROWS_WITH(odp::cuda::stitch_tiles(&dummy, RealType::kFloat32, too_few,
                                            reinterpret_cast<uint8_t*>(&dummy), nullptr),
                    Catch::Contains("does not cover the image"));
  TileGrid bad_overlap = grid;
  bad_overlap.overlap = bad_overlap.tile;
  CHECK_THROWS_AS(odp::cuda::stitch_tiles(&dummy, RealType::kFloat32, bad_overlap,
                                          reinterpret_cast<uint8_t*>(&dummy), nullptr),
                  CudaError);
  CHECK_THROWS_WITH(odp::cuda::fsq_quantize(&dummy, RealType::kFloat32, 1, {8, 2}, &dummy, IndexType::kInt64,
                                            nullptr, RealType::kFloat32, nullptr),
                    Catch::Contains("level 1 is 2"));
  CHECK_THROWS_AS(odp::cuda::fsq_codes_from_indices(&dummy, IndexType::kInt64, -1, {8}, &dummy,
                                                    RealType::kFloat32, nullptr),
                  CudaError);
  CHECK_THROWS_WITH(odp::cuda::gelu_pixel_interleave(&dummy, 1, 2, 2, 12, &dummy, nullptr),
                    Catch::Contains("multiple of 8"));
  CHECK_THROWS_WITH(odp::cuda::gelu_pixel_interleave(nullptr, 1, 2, 2, 8, &dummy, nullptr),
                    Catch::Contains("y is a null pointer"));
  CHECK_THROWS_WITH(odp::cuda::bytes_from_unit(&dummy, RealType::kFloat32, -1, nullptr, nullptr),
                    Catch::Contains("negative"));
  CHECK_THROWS_WITH(odp::cuda::gelu_interleave_to_rgb(&dummy, 1, 2, 2, 72, &dummy, &dummy, &dummy, nullptr),
                    Catch::Contains("up to 64"));
  CHECK_THROWS_WITH(odp::cuda::gelu_interleave_to_rgb(&dummy, 1, 2, 2, 8, &dummy, nullptr, &dummy, nullptr),
                    Catch::Contains("bias is a null pointer"));
}

// Without a GPU only the [host] tests run; the exit code 77 then tells ctest the GPU tests were skipped.
int main(int argc, char* argv[]) {
  Catch::Session session;
  if (const int status = session.applyCommandLine(argc, argv); status != 0) return status;
  if (odp::cuda::device_count() > 0) return session.run();
  std::cout << "test_cuda: no CUDA device; running only the [host] tests, skipping the GPU tests\n";
  session.configData().testsOrTags = {"[host]"};
  session.useConfigData(session.configData());
  const int failures = session.run();
  return failures != 0 ? failures : 77;
}
