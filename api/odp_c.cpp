// The C API of include/odp/odp.h over the C++ codec: the one boundary where every exception becomes a status.
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "codec/odp.h"
#include "format/odp_format.h"
#include "model/tile_model.h"
#include "odp/odp.h"

// The decode limits came out of reserved: callers built against the older header pass the same struct.
static_assert(sizeof(odp_decode_options) == 80 && alignof(odp_decode_options) == 4,
              "odp_decode_options must keep its size and alignment (take new fields from reserved)");
static_assert(offsetof(odp_decode_options, seam_filter_radius) == 12 &&
                  offsetof(odp_decode_options, max_pixels) == 16 &&
                  offsetof(odp_decode_options, reserved) == 36,
              "odp_decode_options' earlier fields must keep their offsets");

// include/odp/odp.h documents these defaults, and its uint32_t fields must hold them.
static_assert(odp::codec::DecodeLimits{}.max_pixels == (1u << 28) &&
                  odp::codec::DecodeLimits{}.max_input_bytes == (100u << 20) &&
                  odp::codec::DecodeLimits{}.max_metadata_bytes == (64u << 20) &&
                  odp::codec::DecodeLimits{}.max_tiles == 65536 &&
                  odp::codec::DecodeLimits{}.max_tiles_per_payload_byte == 8,
              "update odp_decode_options' documented defaults in include/odp/odp.h");

struct odp_model {
  std::unique_ptr<odp::model::TileModel> model;
};

namespace {

thread_local std::string last_error;

odp_status fail(odp_status status, const std::string& message) {
  last_error = message;
  return status;
}

odp_status status_for(odp::base::ErrorKind kind) {
  switch (kind) {
    case odp::base::ErrorKind::kBadInput:
      return ODP_ERROR_BAD_INPUT;
    case odp::base::ErrorKind::kIo:
      return ODP_ERROR_IO;
    case odp::base::ErrorKind::kModel:
      return ODP_ERROR_MODEL;
    case odp::base::ErrorKind::kUsage:
      return ODP_ERROR_USAGE;
    case odp::base::ErrorKind::kOutOfMemory:
      return ODP_ERROR_OUT_OF_MEMORY;
    case odp::base::ErrorKind::kDevice:
      return ODP_ERROR_DEVICE;
  }
  return ODP_ERROR_INTERNAL;
}

// Runs body; every exception that can come out of the layers below is mapped to its documented status here.
// The codec promises base::Error only; the other handlers are the net under that promise.
template <typename Body>
odp_status guarded(Body&& body) {
  try {
    body();
    return ODP_OK;
  } catch (const odp::base::Error& error) {
    return fail(status_for(error.kind()), error.what());
  } catch (const odp::format::FormatError& error) {
    return fail(ODP_ERROR_BAD_INPUT, error.what());
  } catch (const odp::model::ModelError& error) {
    return fail(ODP_ERROR_MODEL, error.what());
  } catch (const std::bad_alloc&) {
    return fail(ODP_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const c10::Error& error) {
    const std::string what = error.what_without_backtrace();
    return fail(ODP_ERROR_MODEL, "LibTorch: " + what.substr(0, what.find('\n')));
  } catch (const std::exception& error) {
    return fail(ODP_ERROR_INTERNAL, std::string("unexpected failure: ") + error.what());
  } catch (...) {
    return fail(ODP_ERROR_INTERNAL, "unexpected failure of an unknown kind");
  }
}

odp::base::Error usage(const std::string& message) {
  return odp::base::Error(message, odp::base::ErrorKind::kUsage);
}

// The caller's options as a whole struct of this version: defaults from init, then as many leading bytes of
// the caller's struct as it says it has (an older, shorter struct leaves the newer fields at their defaults).
template <typename Options>
Options options_from(const Options* given, void (*init)(Options*)) {
  Options options;
  init(&options);
  if (given != nullptr) {
    if (given->struct_size < sizeof(uint32_t))
      throw usage("options: struct_size is not set (call the *_init function)");
    std::memcpy(&options, given, std::min<size_t>(given->struct_size, sizeof options));
    options.struct_size = sizeof options;
  }
  return options;
}

// A malloc'd copy of bytes, so that odp_free (free) releases every buffer the API returns.
uint8_t* malloc_copy(const std::vector<uint8_t>& bytes) {
  auto* out = static_cast<uint8_t*>(std::malloc(std::max<size_t>(bytes.size(), 1)));
  if (out == nullptr) throw std::bad_alloc();
  if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
  return out;
}

const char* device_name(odp_device device) {
  switch (device) {
    case ODP_DEVICE_AUTO:
      return "auto";
    case ODP_DEVICE_CPU:
      return "cpu";
    case ODP_DEVICE_CUDA:
      return "cuda";
  }
  throw usage("odp_model_options.device must be ODP_DEVICE_AUTO, _CPU or _CUDA");
}

void require(bool condition, const char* message) {
  if (!condition) throw usage(message);
}

// The caller's limits over codec::DecodeLimits' defaults: a field left 0 keeps its default.
odp::codec::DecodeLimits limits_from(const odp_decode_options& options) {
  odp::codec::DecodeLimits limits;
  const auto set = [](auto& limit, uint32_t given) {
    if (given != 0) limit = given;
  };
  set(limits.max_pixels, options.max_pixels);
  set(limits.max_input_bytes, options.max_input_bytes);
  set(limits.max_metadata_bytes, options.max_metadata_bytes);
  set(limits.max_tiles, options.max_tiles);
  set(limits.max_tiles_per_payload_byte, options.max_tiles_per_payload_byte);
  return limits;
}

}  // namespace

extern "C" {

const char* odp_version(void) { return ODP_VERSION_STRING; }

const char* odp_error_message(void) { return last_error.c_str(); }

const char* odp_status_name(odp_status status) {
  switch (status) {
    case ODP_OK:
      return "ok";
    case ODP_ERROR_USAGE:
      return "usage error";
    case ODP_ERROR_BAD_INPUT:
      return "bad input";
    case ODP_ERROR_IO:
      return "I/O failure";
    case ODP_ERROR_MODEL:
      return "model problem";
    case ODP_ERROR_OUT_OF_MEMORY:
      return "out of memory";
    case ODP_ERROR_DEVICE:
      return "device failure";
    case ODP_ERROR_INTERNAL:
      return "internal error";
  }
  return "unknown status";
}

void odp_free(void* buffer) { std::free(buffer); }

void odp_model_options_init(odp_model_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof *options);
  options->struct_size = sizeof *options;
  options->device = ODP_DEVICE_AUTO;
}

static odp_status load(
    const odp_model_options* given, odp_model** model,
    const std::function<std::unique_ptr<odp::model::TileModel>(const std::string&)>& loader) {
  return guarded([&] {
    require(model != nullptr, "odp_model_load: model is NULL");
    const odp_model_options options = options_from(given, odp_model_options_init);
    auto handle = std::make_unique<odp_model>();
    handle->model = loader(device_name(options.device));
    *model = handle.release();
  });
}

odp_status odp_model_load(const char* path, const odp_model_options* options, odp_model** model) {
  if (path == nullptr) return fail(ODP_ERROR_USAGE, "odp_model_load: path is NULL");
  return load(options, model,
              [&](const std::string& device) { return odp::codec::load_model(path, device); });
}

odp_status odp_model_load_memory(const uint8_t* data, size_t size, const odp_model_options* options,
                                 odp_model** model) {
  if (data == nullptr && size > 0) return fail(ODP_ERROR_USAGE, "odp_model_load_memory: data is NULL");
  return load(options, model, [&](const std::string& device) {
    return odp::codec::load_model(std::vector<uint8_t>(data, data + size), "model in memory", device);
  });
}

void odp_model_free(odp_model* model) { delete model; }

odp_status odp_model_get_info(const odp_model* model, odp_model_info* info) {
  return guarded([&] {
    require(model != nullptr && info != nullptr, "odp_model_get_info: model or info is NULL");
    require(info->struct_size >= sizeof(uint32_t), "odp_model_get_info: info->struct_size is not set");
    const odp::model::ModelInfo& from = model->model->info();
    odp_model_info out{};
    out.struct_size = sizeof out;
    out.model_id = from.model_id;
    out.tile_size = from.config.tile_size;
    out.num_tokens = from.config.num_tokens;
    out.codebook_bits = from.config.codebook_bits();
    out.on_gpu = model->model->device() == odp::model::Device::kCuda;
    const uint32_t size = std::min<uint32_t>(info->struct_size, sizeof out);
    std::memcpy(info, &out, size);
    info->struct_size = size;
  });
}

void odp_encode_options_init(odp_encode_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof *options);
  const odp::codec::EncodeOptions defaults;
  options->struct_size = sizeof *options;
  options->rate = ODP_RATE_TOKENS;
  options->tokens = defaults.tokens;
  options->quality = defaults.quality;
  options->max_bytes = defaults.max_bytes;
  options->target_psnr = defaults.target_psnr;
  options->tile_overlap = defaults.tile_overlap;
  options->keep_metadata = defaults.keep_metadata;
  options->scale = defaults.scale;
  options->gpu_precision = ODP_GPU_PRECISION_TF32;  // EncodeOptions' default
}

odp_status odp_encode(odp_model* model, const odp_image* image, const odp_encode_options* given,
                      uint8_t** output, size_t* output_size) {
  return guarded([&] {
    require(model != nullptr && image != nullptr && output != nullptr && output_size != nullptr,
            "odp_encode: model, image, output or output_size is NULL");
    require(image->width > 0 && image->height > 0 && image->rgb != nullptr,
            "odp_encode: the image needs a positive size and pixels");
    const size_t row = static_cast<size_t>(image->width) * 3;
    require(image->stride >= row, "odp_encode: stride must be at least 3 * width");
    const odp_encode_options options = options_from(given, odp_encode_options_init);
    odp::codec::EncodeOptions encode_options;
    switch (options.rate) {
      case ODP_RATE_TOKENS:
        encode_options.rate = odp::codec::RateControl::kTokens;
        break;
      case ODP_RATE_QUALITY:
        encode_options.rate = odp::codec::RateControl::kQuality;
        break;
      case ODP_RATE_SIZE:
        encode_options.rate = odp::codec::RateControl::kSize;
        break;
      case ODP_RATE_TARGET_PSNR:
        encode_options.rate = odp::codec::RateControl::kTargetPsnr;
        break;
      default:
        throw usage("odp_encode_options.rate is not an odp_rate_control");
    }
    encode_options.tokens = options.tokens;
    encode_options.quality = options.quality;
    encode_options.max_bytes = options.max_bytes;
    encode_options.target_psnr = options.target_psnr;
    encode_options.tile_overlap = options.tile_overlap;
    encode_options.keep_metadata = options.keep_metadata != 0;
    encode_options.scale = options.scale;
    switch (options.gpu_precision) {
      case ODP_GPU_PRECISION_TF32:
        encode_options.gpu_precision = odp::codec::GpuPrecision::kTf32;
        break;
      case ODP_GPU_PRECISION_BF16:
        encode_options.gpu_precision = odp::codec::GpuPrecision::kBf16;
        break;
      case ODP_GPU_PRECISION_FP32:
        encode_options.gpu_precision = odp::codec::GpuPrecision::kFp32;
        break;
      default:
        throw usage("odp_encode_options.gpu_precision is not an odp_gpu_precision");
    }

    odp::base::Image pixels;
    pixels.width = image->width;
    pixels.height = image->height;
    pixels.rgb.resize(row * image->height);
    for (int y = 0; y < image->height; ++y)
      std::memcpy(pixels.rgb.data() + row * y, image->rgb + image->stride * y, row);
    if (image->icc != nullptr) pixels.icc.assign(image->icc, image->icc + image->icc_size);
    if (image->exif != nullptr) pixels.exif.assign(image->exif, image->exif + image->exif_size);
    const odp::codec::EncodeResult result = odp::codec::encode(pixels, *model->model, encode_options);
    *output = malloc_copy(result.bytes);
    *output_size = result.bytes.size();
  });
}

void odp_decode_options_init(odp_decode_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof *options);
  const odp::codec::DecodeOptions defaults;
  options->struct_size = sizeof *options;
  options->max_tokens = defaults.max_tokens;
  options->seam_cast_radius = defaults.seam_cast_radius;
  options->seam_filter_radius = defaults.seam_filter_radius;
}

odp_status odp_decode(odp_model* model, const uint8_t* data, size_t size, const odp_decode_options* given,
                      uint8_t** rgb, int* width, int* height) {
  return guarded([&] {
    require(model != nullptr && data != nullptr && rgb != nullptr && width != nullptr && height != nullptr,
            "odp_decode: model, data, rgb, width or height is NULL");
    const odp_decode_options options = options_from(given, odp_decode_options_init);
    odp::codec::DecodeOptions decode_options;
    decode_options.max_tokens = options.max_tokens;
    decode_options.seam_cast_radius = options.seam_cast_radius;
    decode_options.seam_filter_radius = options.seam_filter_radius;
    decode_options.limits = limits_from(options);
    const odp::base::Image image = odp::codec::decode(data, size, *model->model, decode_options);
    *rgb = malloc_copy(image.rgb);
    *width = image.width;
    *height = image.height;
  });
}

void odp_truncate_options_init(odp_truncate_options* options) {
  if (options == nullptr) return;
  std::memset(options, 0, sizeof *options);
  options->struct_size = sizeof *options;
  options->quality = -1;
}

odp_status odp_truncate(const uint8_t* data, size_t size, const odp_truncate_options* given,
                        const odp_model* model, uint8_t** output, size_t* output_size) {
  return guarded([&] {
    require(data != nullptr && output != nullptr && output_size != nullptr,
            "odp_truncate: data, output or output_size is NULL");
    const odp_truncate_options options = options_from(given, odp_truncate_options_init);
    odp::codec::TruncateOptions truncate_options;
    truncate_options.tokens = options.tokens;
    truncate_options.quality = options.quality;
    truncate_options.max_bytes = options.max_bytes;
    const std::vector<uint8_t> cut = odp::codec::truncate(data, size, truncate_options,
                                                          model != nullptr ? &model->model->info() : nullptr);
    *output = malloc_copy(cut);
    *output_size = cut.size();
  });
}

odp_status odp_inspect(const uint8_t* data, size_t size, odp_file_info* info) {
  return guarded([&] {
    require(data != nullptr && info != nullptr, "odp_inspect: data or info is NULL");
    require(info->struct_size >= sizeof(uint32_t), "odp_inspect: info->struct_size is not set");
    const odp::codec::FileInfo from = odp::codec::inspect(data, size);
    odp_file_info out{};
    out.struct_size = sizeof out;
    out.width = from.width;
    out.height = from.height;
    out.tile_size = from.tile_size;
    out.tile_overlap = from.tile_overlap;
    out.tiles_x = from.tiles_x;
    out.tiles_y = from.tiles_y;
    out.model_id = from.model_id;
    out.model_id_bits = static_cast<uint32_t>(from.model_id_bits);
    out.format_version = static_cast<uint32_t>(from.format_version);
    out.coded_width = from.coded_width;
    out.coded_height = from.coded_height;
    out.codebook_bits = from.codebook_bits;
    out.position_tables = from.position_tables;
    out.payload_cut = from.payload_cut;
    if (!from.tokens_per_tile.empty()) {
      const auto [low, high] = std::minmax_element(from.tokens_per_tile.begin(), from.tokens_per_tile.end());
      out.min_tokens = *low;
      out.max_tokens = *high;
      double sum = 0;
      for (uint16_t tokens : from.tokens_per_tile) sum += tokens;
      out.mean_tokens = sum / from.tokens_per_tile.size();
    }
    out.header_bytes = from.header_bytes;
    out.metadata_bytes = from.metadata_bytes;
    out.payload_bytes = from.payload_bytes;
    out.file_bytes = from.file_bytes;
    const uint32_t size_given = std::min<uint32_t>(info->struct_size, sizeof out);
    std::memcpy(info, &out, size_given);
    info->struct_size = size_given;
  });
}

}  // extern "C"
