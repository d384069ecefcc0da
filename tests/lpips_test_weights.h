// LPIPS-alex weight files of random values for the model and bench tests (the real weights are not here).
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "model/safetensors.h"

namespace odp::testing {

// The state-dict keys and shapes of lpips.LPIPS(net='alex') (lpips/pretrained_networks.py, lpips/lpips.py),
// written out here independently of train/lpips.cpp so that a wrong name there fails the tests.
struct LpipsTestTensor {
  std::string name;
  std::vector<int64_t> shape;
};
inline std::vector<LpipsTestTensor> lpips_alex_test_tensors() {
  return {{"net.slice1.0.weight", {64, 3, 11, 11}},   {"net.slice1.0.bias", {64}},
          {"net.slice2.3.weight", {192, 64, 5, 5}},   {"net.slice2.3.bias", {192}},
          {"net.slice3.6.weight", {384, 192, 3, 3}},  {"net.slice3.6.bias", {384}},
          {"net.slice4.8.weight", {256, 384, 3, 3}},  {"net.slice4.8.bias", {256}},
          {"net.slice5.10.weight", {256, 256, 3, 3}}, {"net.slice5.10.bias", {256}},
          {"lin0.model.1.weight", {1, 64, 1, 1}},     {"lin1.model.1.weight", {1, 192, 1, 1}},
          {"lin2.model.1.weight", {1, 384, 1, 1}},    {"lin3.model.1.weight", {1, 256, 1, 1}},
          {"lin4.model.1.weight", {1, 256, 1, 1}}};
}

inline odp::model::TensorBlob f32_blob(const std::vector<float>& values, std::vector<int64_t> shape) {
  odp::model::TensorBlob blob;
  blob.dtype = "F32";
  blob.shape = std::move(shape);
  blob.data.resize(values.size() * sizeof(float));
  std::memcpy(blob.data.data(), values.data(), blob.data.size());  // little-endian hosts only (x86, arm64)
  return blob;
}

// Random weights as PyTorch initialises a convolution (uniform, bound 1/sqrt(fan_in)); the linear heads
// uniform in [0, 1) (the trained ones are non-negative too). `values` keeps them for reference computations.
struct RandomLpips {
  odp::model::SafetensorsFile file;
  std::map<std::string, std::vector<float>> values;
};
inline RandomLpips random_lpips(uint32_t seed) {
  RandomLpips r;
  std::mt19937 generator(seed);
  double bound = 1;  // a bias shares its convolution's fan-in: that weight comes just before it in the list
  for (const auto& t : lpips_alex_test_tensors()) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    const bool lin = t.name.rfind("lin", 0) == 0;
    if (t.shape.size() == 4 && !lin) bound = 1 / std::sqrt(double(t.shape[1] * t.shape[2] * t.shape[3]));
    std::uniform_real_distribution<float> pick(lin ? 0.0f : float(-bound), lin ? 1.0f : float(bound));
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = pick(generator);
    r.file.tensors[t.name] = f32_blob(v, t.shape);
    r.values[t.name] = std::move(v);
  }
  // The package's ScalingLayer buffers, as an unfiltered state dict would carry them: ignored by the loader.
  r.file.tensors["scaling_layer.shift"] = f32_blob({-.030f, -.088f, -.188f}, {1, 3, 1, 1});
  r.file.tensors["scaling_layer.scale"] = f32_blob({.458f, .448f, .450f}, {1, 3, 1, 1});
  return r;
}

inline void write_safetensors(const std::string& path, const odp::model::SafetensorsFile& file) {
  const auto bytes = odp::model::serialize_safetensors(file);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A temporary path for the LPIPS tests' files, made unique to this process.
inline std::filesystem::path lpips_temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("odp-lpips-test-" + std::to_string(::getpid()) + "-" + name);
}

// `file` written to lpips_temp_path(name), removed when this goes away.
struct TempWeights {
  TempWeights(const std::string& name, const odp::model::SafetensorsFile& file)
      : path(lpips_temp_path(name)) {
    write_safetensors(path.string(), file);
  }
  ~TempWeights() { std::filesystem::remove(path); }
  TempWeights(const TempWeights&) = delete;
  TempWeights& operator=(const TempWeights&) = delete;
  std::filesystem::path path;
};

}  // namespace odp::testing
