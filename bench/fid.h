// Optional FID of odp-bench: the Fréchet distance between the feature distributions of the originals and of
// each codec's reconstructions, with features from a network the user supplies as a TorchScript file.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/metrics.h"
#include "model/tile_model.h"

namespace odp::bench {

// Feature vectors, one per image, all of one length.
using FeatureSet = std::vector<std::vector<float>>;

// Fréchet distance between Gaussians fitted to two feature sets (mean and sample covariance over n - 1), as
// pytorch-fid defines it: |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a^1/2 S_b S_a^1/2). The last
// trace equals the nuclear norm of X_b X_a^T / sqrt((n_a - 1)(n_b - 1)), X being the centred features, so it
// is computed exactly from an n_b x n_a matrix instead of through D x D square roots (D = 2048 for
// Inception). Throws BenchError when a set has fewer than 2 vectors or the lengths differ.
double frechet_distance(const FeatureSet& a, const FeatureSet& b);

// A feature network: a TorchScript module (torch.jit.save) whose forward maps a float [N, 3, H, W] batch of
// RGB in [0, 1] to [N, D] features ([N, D, 1, 1] is flattened). bench/README.md shows how to make one from
// pytorch-fid's Inception-v3.
class FidNetwork {
 public:
  // Throws BenchError naming the file when it cannot be loaded, or when a 64x64 probe image does not give
  // one finite feature vector of 1..1,048,576 values.
  FidNetwork(const std::string& path, odp::model::Device device);
  ~FidNetwork();
  FidNetwork(FidNetwork&&) noexcept;
  FidNetwork& operator=(FidNetwork&&) noexcept;

  const std::string& path() const;
  int dims() const;
  // Throws BenchError when the network fails on the image or gives a vector of another length.
  std::vector<float> features(const Image& image) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Gathers features during a benchmark run: the originals', and each (codec, operating point)'s
// reconstructions'.
class FidCollector {
 public:
  explicit FidCollector(const FidNetwork& network) : network_(network) {}
  void add_original(const Image& image);
  void add(const std::string& codec, const std::string& point, const Image& reconstruction);
  // A Markdown section: one row per point (in the order first seen), one column per codec (likewise); each
  // cell "FID (images)", or "–" where fewer than 2 reconstructions reached the point.
  std::string markdown() const;

 private:
  const FidNetwork& network_;
  FeatureSet originals_;
  std::vector<std::string> points_, codecs_;
  std::map<std::pair<std::string, std::string>, FeatureSet> sets_;  // (point, codec) -> features
};

}  // namespace odp::bench
