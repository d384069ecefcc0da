// Tests of include/odp/odp.h through libodp alone: round trips, options structs of other sizes, and every
// kind of failure (LibTorch's included) reported as its documented status with a message, never as an
// exception.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "odp/odp.h"

namespace {

// A scratch folder with tiny model files made by odp_make_test_model, for the whole run.
struct Models {
  std::string dir;
  Models() {
    char pattern[] = "/tmp/odp-c-api-test-XXXXXX";
    dir = ::mkdtemp(pattern);
    for (const char* arguments :
         {"tiny.safetensors 1", "other.safetensors 2", "libtorch-fails.safetensors 3 --libtorch-fails"})
      REQUIRE(std::system((std::string(MAKE_TEST_MODEL) + " " + dir + "/" + arguments).c_str()) == 0);
  }
  ~Models() { std::system(("rm -rf " + dir).c_str()); }
  std::string path(const std::string& name) const { return dir + "/" + name; }
};

const Models& models() {
  static Models instance;
  return instance;
}

odp_model* load(const std::string& name) {
  odp_model_options options;
  odp_model_options_init(&options);
  options.device = ODP_DEVICE_CPU;
  odp_model* model = nullptr;
  const odp_status status = odp_model_load(models().path(name).c_str(), &options, &model);
  INFO(odp_error_message());
  REQUIRE(status == ODP_OK);
  return model;
}

std::vector<uint8_t> gradient(int width, int height) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 37) / 11);
  return rgb;
}

std::vector<uint8_t> encode(odp_model* model, int width, int height, int tokens) {
  const std::vector<uint8_t> rgb = gradient(width, height);
  const odp_image image = {width, height, static_cast<size_t>(width) * 3, rgb.data(), nullptr, 0, nullptr, 0};
  odp_encode_options options;
  odp_encode_options_init(&options);
  options.tokens = tokens;
  uint8_t* bytes = nullptr;
  size_t size = 0;
  const odp_status status = odp_encode(model, &image, &options, &bytes, &size);
  INFO(odp_error_message());
  REQUIRE(status == ODP_OK);
  std::vector<uint8_t> file(bytes, bytes + size);
  odp_free(bytes);
  return file;
}

}  // namespace

TEST_CASE("version, status names and an empty message before any failure", "[c_api]") {
  CHECK(std::string(odp_version()) == std::to_string(ODP_VERSION_MAJOR) + "." +
                                          std::to_string(ODP_VERSION_MINOR) + "." +
                                          std::to_string(ODP_VERSION_PATCH));
  CHECK(std::string(odp_status_name(ODP_ERROR_MODEL)) == "model problem");
  CHECK(std::string(odp_error_message()).empty());
}

TEST_CASE("encode, inspect, truncate and decode round-trip through the C API", "[c_api]") {
  odp_model* model = load("tiny.safetensors");
  odp_model_info info{};
  info.struct_size = sizeof info;
  REQUIRE(odp_model_get_info(model, &info) == ODP_OK);
  CHECK(info.tile_size == 32);
  CHECK(info.num_tokens == 16);
  CHECK(info.on_gpu == 0);

  const std::vector<uint8_t> file = encode(model, 70, 40, 8);
  odp_file_info file_info{};
  file_info.struct_size = sizeof file_info;
  REQUIRE(odp_inspect(file.data(), file.size(), &file_info) == ODP_OK);
  CHECK(file_info.width == 70);
  CHECK(file_info.height == 40);
  // Format version 2 records the low 16 bits of the model's id.
  CHECK(file_info.format_version == 2);
  REQUIRE(file_info.model_id_bits == 16);
  CHECK(file_info.model_id == (info.model_id & 0xffffu));
  CHECK(file_info.max_tokens == 8);
  CHECK(file_info.file_bytes == file.size());

  odp_truncate_options cut_options;
  odp_truncate_options_init(&cut_options);
  cut_options.tokens = 2;
  uint8_t* cut = nullptr;
  size_t cut_size = 0;
  REQUIRE(odp_truncate(file.data(), file.size(), &cut_options, model, &cut, &cut_size) == ODP_OK);
  CHECK(cut_size < file.size());

  uint8_t* rgb = nullptr;
  int width = 0, height = 0;
  REQUIRE(odp_decode(model, cut, cut_size, nullptr, &rgb, &width, &height) == ODP_OK);
  CHECK(width == 70);
  CHECK(height == 40);
  odp_free(rgb);
  odp_free(cut);
  odp_model_free(model);
}

TEST_CASE("a model loads from memory as from its file", "[c_api]") {
  std::FILE* in = std::fopen(models().path("tiny.safetensors").c_str(), "rb");
  REQUIRE(in != nullptr);
  std::vector<uint8_t> bytes;
  for (int c; (c = std::fgetc(in)) != EOF;) bytes.push_back(static_cast<uint8_t>(c));
  std::fclose(in);
  odp_model* from_memory = nullptr;
  REQUIRE(odp_model_load_memory(bytes.data(), bytes.size(), nullptr, &from_memory) == ODP_OK);
  odp_model* from_file = load("tiny.safetensors");
  CHECK(encode(from_memory, 40, 30, 16) == encode(from_file, 40, 30, 16));
  odp_model_free(from_memory);
  odp_model_free(from_file);
}

TEST_CASE("an options struct from an older, shorter header keeps the newer fields' defaults", "[c_api]") {
  odp_model* model = load("tiny.safetensors");
  const std::vector<uint8_t> rgb = gradient(40, 30);
  const odp_image image = {40, 30, 120, rgb.data(), nullptr, 0, nullptr, 0};
  odp_encode_options old_options;
  odp_encode_options_init(&old_options);
  old_options.struct_size = offsetof(odp_encode_options, tokens) + sizeof old_options.tokens;
  old_options.tokens = 4;
  old_options.tile_overlap = 12345;  // beyond the old struct: must not be read
  uint8_t* bytes = nullptr;
  size_t size = 0;
  REQUIRE(odp_encode(model, &image, &old_options, &bytes, &size) == ODP_OK);
  odp_file_info info{};
  info.struct_size = sizeof info;
  REQUIRE(odp_inspect(bytes, size, &info) == ODP_OK);
  CHECK(info.max_tokens == 4);
  odp_free(bytes);
  odp_model_free(model);
}

TEST_CASE("failures are statuses with a message, LibTorch's own errors included", "[c_api]") {
  odp_model* model = nullptr;
  CHECK(odp_model_load(nullptr, nullptr, &model) == ODP_ERROR_USAGE);
  CHECK(odp_model_load(models().path("missing.safetensors").c_str(), nullptr, &model) == ODP_ERROR_MODEL);
  CHECK_THAT(odp_error_message(), Catch::Contains("missing.safetensors"));

  // The file passes odp's own checks, but LibTorch throws (c10::Error) making one of its tensors.
  CHECK(odp_model_load(models().path("libtorch-fails.safetensors").c_str(), nullptr, &model) ==
        ODP_ERROR_MODEL);
  CHECK_THAT(odp_error_message(),
             Catch::Contains("LibTorch") && Catch::Contains("libtorch-fails.safetensors"));
  CHECK(std::string(odp_error_message()).find('\n') == std::string::npos);  // one line, no backtrace
  CHECK(model == nullptr);

  model = load("tiny.safetensors");
  odp_model* other = load("other.safetensors");
  const std::vector<uint8_t> from_other = encode(other, 20, 20, 4);
  odp_model_free(other);
  uint8_t* rgb = nullptr;
  int width = 0, height = 0;
  CHECK(odp_decode(model, from_other.data(), from_other.size(), nullptr, &rgb, &width, &height) ==
        ODP_ERROR_MODEL);
  const uint8_t garbage[] = {'O', 'D', 'P', 9, 9, 9, 9, 9};
  CHECK(odp_decode(model, garbage, sizeof garbage, nullptr, &rgb, &width, &height) == ODP_ERROR_BAD_INPUT);
  CHECK(rgb == nullptr);
  odp_file_info info{};
  info.struct_size = sizeof info;
  CHECK(odp_inspect(garbage, sizeof garbage, &info) == ODP_ERROR_BAD_INPUT);

  const std::vector<uint8_t> pixels = gradient(8, 8);
  const odp_image image = {8, 8, 24, pixels.data(), nullptr, 0, nullptr, 0};
  odp_encode_options options;
  odp_encode_options_init(&options);
  options.rate = ODP_RATE_QUALITY;
  options.quality = 101;
  uint8_t* bytes = nullptr;
  size_t size = 0;
  CHECK(odp_encode(model, &image, &options, &bytes, &size) == ODP_ERROR_USAGE);
  CHECK_THAT(odp_error_message(), Catch::Contains("quality"));
  const odp_image narrow = {8, 8, 10, pixels.data(), nullptr, 0, nullptr, 0};
  CHECK(odp_encode(model, &narrow, nullptr, &bytes, &size) == ODP_ERROR_USAGE);
  CHECK(bytes == nullptr);
  odp_model_free(model);
}

TEST_CASE("scale codes a downscaled copy that decodes to the original size; the struct did not grow",
          "[c_api]") {
  // scale took room from reserved: callers built against the older header pass the same struct size, and
  // their zeroed reserved words read as ODP_AUTO_SCALE.
  CHECK(offsetof(odp_encode_options, scale) % alignof(double) == 0);
  CHECK(offsetof(odp_encode_options, gpu_precision) == offsetof(odp_encode_options, scale) + sizeof(double));
  CHECK(offsetof(odp_encode_options, reserved) + sizeof(uint32_t) * 13 == sizeof(odp_encode_options));
  odp_encode_options defaults;
  odp_encode_options_init(&defaults);
  CHECK(defaults.scale == ODP_AUTO_SCALE);
  odp_model* model = load("tiny.safetensors");
  const std::vector<uint8_t> rgb = gradient(70, 40);
  const odp_image image = {70, 40, 210, rgb.data(), nullptr, 0, nullptr, 0};
  odp_encode_options options = defaults;
  options.tokens = 8;
  options.scale = 0.5;
  uint8_t* bytes = nullptr;
  size_t size = 0;
  REQUIRE(odp_encode(model, &image, &options, &bytes, &size) == ODP_OK);
  odp_file_info info{};
  info.struct_size = sizeof info;
  REQUIRE(odp_inspect(bytes, size, &info) == ODP_OK);
  CHECK(info.width == 70);
  CHECK(info.coded_width == 35);
  CHECK(info.coded_height == 20);
  uint8_t* decoded = nullptr;
  int width = 0, height = 0;
  REQUIRE(odp_decode(model, bytes, size, nullptr, &decoded, &width, &height) == ODP_OK);
  CHECK(width == 70);
  CHECK(height == 40);
  odp_free(decoded);
  odp_free(bytes);
  options.scale = 2;
  CHECK(odp_encode(model, &image, &options, &bytes, &size) == ODP_ERROR_USAGE);
  CHECK(std::string(odp_error_message()).find("scale") != std::string::npos);
  odp_model_free(model);
}

TEST_CASE("gpu_precision defaults to TF32, is ignored on the CPU and refuses a value it does not know",
          "[c_api]") {
  // Taken from reserved after scale: an older caller's zeroed word reads as the default.
  CHECK(sizeof(odp_gpu_precision) == sizeof(uint32_t));
  odp_encode_options options;
  odp_encode_options_init(&options);
  CHECK(options.gpu_precision == ODP_GPU_PRECISION_TF32);
  CHECK(ODP_GPU_PRECISION_TF32 == 0);
  odp_model* model = load("tiny.safetensors");
  const std::vector<uint8_t> rgb = gradient(70, 40);
  const odp_image image = {70, 40, 210, rgb.data(), nullptr, 0, nullptr, 0};
  options.tokens = 8;
  std::vector<std::vector<uint8_t>> files;
  for (odp_gpu_precision precision :
       {ODP_GPU_PRECISION_TF32, ODP_GPU_PRECISION_BF16, ODP_GPU_PRECISION_FP32}) {
    options.gpu_precision = precision;
    uint8_t* bytes = nullptr;
    size_t size = 0;
    REQUIRE(odp_encode(model, &image, &options, &bytes, &size) == ODP_OK);
    files.emplace_back(bytes, bytes + size);
    odp_free(bytes);
  }
  CHECK(files[1] == files[0]);  // the CPU encoder is fp32 whatever the choice
  CHECK(files[2] == files[0]);
  options.gpu_precision = static_cast<odp_gpu_precision>(7);
  uint8_t* bytes = nullptr;
  size_t size = 0;
  CHECK(odp_encode(model, &image, &options, &bytes, &size) == ODP_ERROR_USAGE);
  CHECK(std::string(odp_error_message()).find("gpu_precision") != std::string::npos);
  CHECK(bytes == nullptr);
  odp_model_free(model);
}

namespace {

// odp_decode with these options: the status, and the message when it failed.
odp_status decode_with(odp_model* model, const std::vector<uint8_t>& file,
                       const odp_decode_options& options) {
  uint8_t* rgb = nullptr;
  int width = 0, height = 0;
  const odp_status status = odp_decode(model, file.data(), file.size(), &options, &rgb, &width, &height);
  odp_free(rgb);
  return status;
}

}  // namespace

TEST_CASE(
    "decode limits: a lowered one refuses a file naming it, 0 keeps the default; the struct did not grow",
    "[c_api]") {
  // The limits took room from reserved: callers built against the older header pass the same struct.
  CHECK(sizeof(odp_decode_options) == 80);
  CHECK(offsetof(odp_decode_options, max_pixels) == 16);
  CHECK(offsetof(odp_decode_options, reserved) + sizeof(uint32_t) * 11 == sizeof(odp_decode_options));
  odp_decode_options defaults;
  odp_decode_options_init(&defaults);
  CHECK(defaults.max_pixels == 0);
  CHECK(defaults.max_input_bytes == 0);
  CHECK(defaults.max_metadata_bytes == 0);
  CHECK(defaults.max_tiles == 0);
  CHECK(defaults.max_tiles_per_payload_byte == 0);

  odp_model* model = load("tiny.safetensors");
  const std::vector<uint8_t> rgb = gradient(70, 40);  // 2800 pixels, 3 x 2 tiles of 32
  const std::vector<uint8_t> icc(1000, 7);
  const odp_image image = {70, 40, 210, rgb.data(), icc.data(), icc.size(), nullptr, 0};
  odp_encode_options encode_options;
  odp_encode_options_init(&encode_options);
  encode_options.tokens = 4;
  uint8_t* bytes = nullptr;
  size_t size = 0;
  REQUIRE(odp_encode(model, &image, &encode_options, &bytes, &size) == ODP_OK);
  const std::vector<uint8_t> file(bytes, bytes + size);
  odp_free(bytes);
  REQUIRE(decode_with(model, file, defaults) == ODP_OK);

  const auto refused = [&](const odp_decode_options& options, const std::string& naming) {
    const odp_status status = decode_with(model, file, options);
    INFO(odp_error_message());
    CHECK(status == ODP_ERROR_BAD_INPUT);
    CHECK_THAT(odp_error_message(), Catch::Contains(naming));
  };
  odp_decode_options options = defaults;
  options.max_pixels = 2799;
  refused(options, "limit of 2799 pixels");
  options.max_pixels = 2800;
  CHECK(decode_with(model, file, options) == ODP_OK);

  options = defaults;
  options.max_input_bytes = static_cast<uint32_t>(file.size() - 1);
  refused(options, "above the limit of " + std::to_string(file.size() - 1));
  options.max_input_bytes = static_cast<uint32_t>(file.size());
  CHECK(decode_with(model, file, options) == ODP_OK);

  options = defaults;
  options.max_tiles = 5;
  refused(options, "limit of 5 (");
  options.max_tiles = 6;
  CHECK(decode_with(model, file, options) == ODP_OK);

  options = defaults;
  options.max_metadata_bytes = 999;
  refused(options, "metadata exceeds the reader's limit of 999 bytes");
  options.max_metadata_bytes = 1000;
  CHECK(decode_with(model, file, options) == ODP_OK);

  // 9 x 8 = 72 tiles at one token, cut to 4 payload bytes: within 64 + 8 per byte, beyond 64 + 1 per byte.
  const std::vector<uint8_t> many = encode(model, 288, 256, 1);
  odp_file_info info{};
  info.struct_size = sizeof info;
  REQUIRE(odp_inspect(many.data(), many.size(), &info) == ODP_OK);
  REQUIRE(info.tiles_x * info.tiles_y == 72);
  const std::vector<uint8_t> cut(many.begin(), many.begin() + info.header_bytes + info.metadata_bytes + 4);
  CHECK(decode_with(model, cut, defaults) == ODP_OK);
  options = defaults;
  options.max_tiles_per_payload_byte = 1;
  const odp_status status = decode_with(model, cut, options);
  INFO(odp_error_message());
  CHECK(status == ODP_ERROR_BAD_INPUT);
  CHECK_THAT(odp_error_message(), Catch::Contains("limit of 1 tiles per payload byte"));
  odp_model_free(model);
}
