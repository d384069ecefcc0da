// The model file's parser against hostile headers (issue 17): checked element counts, integer-only numbers,
// bounded hyper-parameters. LibTorch-free (odp_model_info only).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "model/model_file.h"
#include "model/safetensors.h"
#include "tests/tiny_model_config.h"

using namespace odp::model;

namespace {

// A safetensors file whose JSON header is exactly `header`, followed by `data_bytes` zero bytes.
std::vector<uint8_t> with_header(const std::string& header, size_t data_bytes = 16) {
  std::vector<uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(uint64_t{header.size()} >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.resize(bytes.size() + data_bytes, 0);
  return bytes;
}

std::string refusal(const std::string& header) {
  try {
    parse_safetensors(with_header(header), "hostile.safetensors");
  } catch (const ModelError& error) {
    return error.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("a shape whose element count overflows is refused, naming the field", "[model][hostile]") {
  // 2^62 x 4 wraps to 0 in 64 bits and matched the empty data range before the check was made exact.
  const std::string message =
      refusal(R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}})");
  CHECK_THAT(message,
             Catch::Contains("hostile.safetensors") && Catch::Contains("'w'") && Catch::Contains("shape"));
  CHECK_THAT(
      refusal(R"({"w": {"dtype": "F32", "shape": [1073741824, 1073741824, 16], "data_offsets": [0, 0]}})"),
      Catch::Contains("shape"));
  TensorBlob blob;
  blob.shape = {int64_t{1} << 62, 4};
  CHECK_THROWS_AS(blob.numel(), ModelError);
  blob.shape = {3, 5};
  CHECK(blob.numel() == 15);
}

TEST_CASE("data_offsets and shape must be non-negative JSON integers", "[model][hostile]") {
  CHECK_THAT(refusal(R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0.0, 4.0]}})"),
             Catch::Contains("data_offsets") && Catch::Contains("integer"));
  CHECK_THAT(refusal(R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 1e300]}})"),
             Catch::Contains("data_offsets"));
  CHECK_THAT(refusal(R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [-4, 0]}})"),
             Catch::Contains("data_offsets"));
  CHECK_THAT(refusal(R"({"w": {"dtype": "U8", "shape": [2.5], "data_offsets": [0, 4]}})"),
             Catch::Contains("shape"));
  CHECK_THAT(refusal(R"({"w": {"dtype": "U8", "shape": 4, "data_offsets": [0, 4]}})"),
             Catch::Contains("shape"));
  CHECK_THAT(refusal(R"({"w": 7})"), Catch::Contains("'w'"));
  // The well-formed entry is accepted.
  CHECK(
      parse_safetensors(with_header(R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})"), "ok")
          .tensors.at("w")
          .numel() == 4);
}

TEST_CASE("absurd hyper-parameters are refused before any network is built", "[model][hostile]") {
  ModelConfig config = odp::testing::tiny_model_config();
  auto metadata = config_to_metadata(config);
  CHECK(config_from_metadata(metadata, "tiny").width == config.width);
  metadata["odp.width"] = "1048576";  // a multiple of heads: validate() alone let it through (3.4 GB)
  CHECK_THROWS_WITH(config_from_metadata(metadata, "tiny"),
                    Catch::Contains("odp.width") && Catch::Contains("1048576"));
}

TEST_CASE("a file whose tensors hold fewer elements than its hyper-parameters need is refused",
          "[model][hostile]") {
  // Within every bound (width 4096, 64 layers each way) the config needs billions of parameters, which the
  // network would allocate before finding the tensors missing; the count refuses it before that.
  ModelConfig config = odp::testing::tiny_model_config();
  config.width = 4096;
  config.heads = 4;
  config.encoder_layers = config.decoder_layers = 64;
  SafetensorsFile file;
  file.metadata = config_to_metadata(config);
  TensorBlob& blob = file.tensors["patch_embed.weight"];
  blob.dtype = "F32";
  blob.shape = {4096, 3, 8, 8};
  blob.data.assign(4096 * 3 * 8 * 8 * 4, 0);
  const std::vector<uint8_t> bytes = serialize_safetensors(file);
  const std::string needed = std::to_string(config.parameter_count());
  CHECK_THROWS_WITH(model_info_from(parse_safetensors(bytes, "big.safetensors"), bytes, "big.safetensors"),
                    Catch::Contains("big.safetensors") && Catch::Contains("odp.width") &&
                        Catch::Contains("odp.encoder_layers") && Catch::Contains(needed + " parameters") &&
                        Catch::Contains("hold only 786432"));
  CHECK(config.parameter_count() > (int64_t{1} << 33));
}
