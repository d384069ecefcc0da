// Tests of include/odp/odp.hpp, the C++ layer over the C API: owning handles, buffers as vectors, Failure.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "odp/odp.hpp"

TEST_CASE("the C++ layer round-trips and reports failures as odp::Failure with the status", "[c_api]") {
  char pattern[] = "/tmp/odp-cpp-api-test-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  const std::string path = dir + "/tiny.safetensors";
  REQUIRE(std::system((std::string(MAKE_TEST_MODEL) + " " + path + " 6").c_str()) == 0);

  odp::Model model = odp::Model::load(path, ODP_DEVICE_CPU);
  CHECK(model.info().tile_size == 32);
  std::vector<uint8_t> rgb(40 * 30 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 13);
  const std::vector<uint8_t> file = model.encode(rgb.data(), 40, 30);
  CHECK(odp::inspect(file).width == 40);
  odp_truncate_options options;
  odp_truncate_options_init(&options);
  options.tokens = 1;
  const std::vector<uint8_t> cut = odp::truncate(file, options);
  CHECK(cut.size() < file.size());
  const odp::Pixels pixels = model.decode(cut);
  CHECK(pixels.width == 40);
  CHECK(pixels.height == 30);
  CHECK(pixels.rgb.size() == rgb.size());

  try {
    odp::Model::load(dir + "/missing.safetensors", ODP_DEVICE_CPU);
    FAIL("loading a missing model must throw");
  } catch (const odp::Failure& failure) {
    CHECK(failure.status() == ODP_ERROR_MODEL);
    CHECK_THAT(failure.what(), Catch::Contains("missing.safetensors"));
  }
  CHECK_THROWS_AS(odp::inspect(std::vector<uint8_t>{1, 2, 3}), odp::Failure);
  std::system(("rm -rf " + dir).c_str());
}
