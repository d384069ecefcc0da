// The codec with a tiny real network: passing bytes to and from the model gives the float path's files and
// images.
#include <cstdio>
#include <filesystem>
#include <string>

#include "codec/odp.h"
#include "model/weights.h"
#include "test_support.h"
#include "tests/catch_with_torch.h"
#include "tests/tiny_model_config.h"

// REQUIRE, not CHECK, in this file: LibTorch's logging headers define their own CHECK macro.

using namespace odp::codec;

TEST_CASE("the codec's byte path gives the float path's files and images", "[codec][model]") {
  // A random network's output sits below 0 and would clamp to black: centred, rounding differences would
  // show.
  torch::manual_seed(21);
  odp::model::TokenizerNet net(odp::testing::tiny_model_config());
  {
    torch::NoGradGuard no_grad;
    net->head->to_rgb->bias.fill_(0.5);
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / "odp_test_codec_model.safetensors").string();
  odp::model::save_network(path, net, torch::kFloat32);
  auto model = odp::model::TileModel::load(path, odp::model::Device::kCpu);
  std::remove(path.c_str());
  odp::test::FloatPathModel reference(*model);

  const Image image = odp::test::synthetic_image(90, 50);
  for (int overlap : {0, kAutoOverlap}) {
    for (RateControl control : {RateControl::kTokens, RateControl::kTargetPsnr}) {
      EncodeOptions options;
      options.rate = control;
      options.tokens = 5;
      options.target_psnr = 18;
      options.tile_overlap = overlap;
      INFO("overlap " << overlap << ", rate control " << static_cast<int>(control));
      const EncodeResult encoded = encode(image, *model, options);
      REQUIRE(encoded.bytes == encode(image, reference, options).bytes);
      const Image decoded = decode(encoded.bytes.data(), encoded.bytes.size(), *model);
      REQUIRE(decoded.rgb == decode(encoded.bytes.data(), encoded.bytes.size(), reference).rgb);
      // Not a black or flat image: the comparison covers real rounding.
      size_t extremes = 0;
      for (uint8_t v : decoded.rgb) extremes += v == 0 || v == 255;
      REQUIRE(extremes < decoded.rgb.size() / 2);
    }
  }
}
