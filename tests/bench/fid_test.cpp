// FID: the Fréchet distance against closed forms and a D x D square-root computation, the TorchScript
// network. REQUIRE, not CHECK, in this file: LibTorch's glog headers (through ATen) define their own CHECK
// macro.
#include "bench/fid.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_test_images.h"
#include "fid_test.h"
#include "tests/remove_tree.h"

namespace fs = std::filesystem;
using namespace odp::bench;
using Catch::Matchers::Contains;

namespace {

FeatureSet random_set(int n, int dims, double mean, double spread, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(mean, spread);
  FeatureSet set(n, std::vector<float>(dims));
  for (auto& v : set)
    for (auto& x : v) x = static_cast<float>(normal(rng));
  return set;
}

// pytorch-fid's formula done the long way: D x D covariances and a matrix square root by eigendecomposition.
double fid_by_square_roots(const FeatureSet& a, const FeatureSet& b) {
  auto matrix = [](const FeatureSet& set) {
    at::Tensor m =
        at::empty({static_cast<int64_t>(set.size()), static_cast<int64_t>(set[0].size())}, at::kDouble);
    for (size_t i = 0; i < set.size(); ++i)
      for (size_t j = 0; j < set[0].size(); ++j) m[i][j] = set[i][j];
    return m;
  };
  const at::Tensor fa = matrix(a), fb = matrix(b);
  auto covariance = [](const at::Tensor& f) {
    const at::Tensor x = f - f.mean(0);
    return x.t().mm(x) / static_cast<double>(f.size(0) - 1);
  };
  auto sqrt_psd = [](const at::Tensor& m) {
    auto [values, vectors] = at::linalg_eigh(m);
    return vectors.mm(at::diag(values.clamp_min(0).sqrt())).mm(vectors.t());
  };
  const at::Tensor sa = covariance(fa), sb = covariance(fb), root_a = sqrt_psd(sa);
  const at::Tensor inner = root_a.mm(sb).mm(root_a);
  const double cross =
      std::get<0>(at::linalg_eigh((inner + inner.t()) / 2)).clamp_min(0).sqrt().sum().item<double>();
  return (fa.mean(0) - fb.mean(0)).pow(2).sum().item<double>() + sa.trace().item<double>() +
         sb.trace().item<double>() - 2 * cross;
}

// A temporary folder holding the channel-statistics network as stats.pt; removed at the end of the scope.
struct NetworkFolder {
  explicit NetworkFolder(const std::string& name)
      : dir(fs::temp_directory_path() / ("odp-fid-" + name + "-" + std::to_string(::getpid()))),
        network((dir / "stats.pt").string()) {
    fs::create_directories(dir);
    test::write_feature_network(network);
  }
  ~NetworkFolder() { odp::testing::remove_tree(dir); }
  fs::path dir;
  std::string network;
};

}  // namespace

TEST_CASE("the Fréchet distance matches closed forms") {
  const FeatureSet a = random_set(40, 5, 0.0, 1.0, 1);
  REQUIRE(frechet_distance(a, a) == Approx(0.0).margin(1e-9));
  // A shifted copy has the same covariance: the distance is the squared shift.
  FeatureSet shifted = a;
  for (auto& v : shifted) v[0] += 3.0f, v[4] -= 1.0f;
  REQUIRE(frechet_distance(a, shifted) == Approx(10.0).epsilon(1e-5));
  // One dimension: (m_a - m_b)^2 + (s_a - s_b)^2 with sample standard deviations.
  const FeatureSet x = {{1.f}, {2.f}, {4.f}}, y = {{0.f}, {10.f}};
  const double sx = std::sqrt(((1 - 7.0 / 3) * (1 - 7.0 / 3) + (2 - 7.0 / 3) * (2 - 7.0 / 3) +
                               (4 - 7.0 / 3) * (4 - 7.0 / 3)) /
                              2),
               sy = std::sqrt(50.0);
  REQUIRE(frechet_distance(x, y) ==
          Approx((7.0 / 3 - 5) * (7.0 / 3 - 5) + (sx - sy) * (sx - sy)).epsilon(1e-9));
  REQUIRE(frechet_distance(x, y) == Approx(frechet_distance(y, x)).epsilon(1e-9));
}

TEST_CASE(
    "the Fréchet distance equals pytorch-fid's square-root formula, with fewer or more images than dims") {
  for (const auto& [n_a, n_b, dims] : {std::tuple{12, 9, 30}, std::tuple{60, 45, 8}, std::tuple{7, 50, 20}}) {
    CAPTURE(n_a, n_b, dims);
    const FeatureSet a = random_set(n_a, dims, 0.0, 1.0, 11), b = random_set(n_b, dims, 0.3, 1.7, 12);
    const double expected = fid_by_square_roots(a, b);
    REQUIRE(expected > 1.0);
    REQUIRE(frechet_distance(a, b) == Approx(expected).epsilon(1e-6));
  }
}

TEST_CASE("the Fréchet distance refuses sets it cannot fit") {
  REQUIRE_THROWS_WITH(frechet_distance({{1.f, 2.f}}, {{1.f, 2.f}, {3.f, 4.f}}),
                      Contains("at least 2 images"));
  REQUIRE_THROWS_WITH(frechet_distance({{1.f, 2.f}, {1.f}}, {{1.f, 2.f}, {3.f, 4.f}}),
                      Contains("different lengths"));
}

TEST_CASE(
    "a TorchScript feature network gives one vector per image, and bad files are refused with their path") {
  const NetworkFolder folder("network");
  const fs::path& dir = folder.dir;
  const FidNetwork network(folder.network, odp::model::Device::kCpu);
  REQUIRE(network.dims() == 6);
  // A flat grey image: means 128/255, standard deviations 0.
  odp::base::Image grey = test::make_image(20, 10, [](int, int, int c) { return 64 + 32 * c; });
  const auto features = network.features(grey);
  REQUIRE(features.size() == 6);
  for (int c = 0; c < 3; ++c) {
    REQUIRE(features[c] == Approx((64 + 32 * c) / 255.0).epsilon(1e-5));
    REQUIRE(features[3 + c] == Approx(0.0).margin(1e-6));
  }

  const std::string garbage = (dir / "garbage.pt").string();
  std::ofstream(garbage) << "not a TorchScript archive";
  REQUIRE_THROWS_WITH(FidNetwork(garbage, odp::model::Device::kCpu),
                      Contains(garbage) && Contains("TorchScript"));
  const std::string scalar = (dir / "scalar.pt").string();
  test::write_scalar_network(scalar);
  REQUIRE_THROWS_WITH(FidNetwork(scalar, odp::model::Device::kCpu), Contains(scalar) && Contains("[N, D]"));
}

TEST_CASE("the FID report has one cell per point and codec, with the image count") {
  const NetworkFolder folder("report");
  const FidNetwork network(folder.network, odp::model::Device::kCpu);
  FidCollector collector(network);
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    const auto original = test::make_noise(16, 16, seed);
    collector.add_original(original);
    collector.add("odp", "t1", test::make_photo_like(16, 16));
    collector.add("odp", "t256", original);  // perfect reconstructions: FID 0
  }
  collector.add("jpeg", "t256", test::make_noise(16, 16, 9));  // one image only: no FID
  const std::string md = collector.markdown();
  REQUIRE_THAT(md, Contains("| point | odp | jpeg |"));
  REQUIRE_THAT(md, Contains("| t256 | 0.0 (3) | – |"));
  REQUIRE_THAT(md, Contains("| t1 | "));
  REQUIRE_THAT(md, Contains(" (3) | – |"));
}
