// odp's C++ API: a thin header-only layer over the C API of odp.h (owning handles, errors as exceptions).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "odp/odp.h"

namespace odp {

// A failed call of the C API: status() is its code, what() its message (odp_error_message()).
class Failure : public std::runtime_error {
 public:
  Failure(odp_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  odp_status status() const { return status_; }

 private:
  odp_status status_;
};

namespace detail {

inline void check(odp_status status) {
  if (status != ODP_OK) throw Failure(status, odp_error_message());
}

// Moves a buffer the C API returned into a vector and releases it with odp_free.
inline std::vector<uint8_t> take(uint8_t* buffer, size_t size) {
  const std::unique_ptr<uint8_t, void (*)(void*)> owner(buffer, odp_free);
  return std::vector<uint8_t>(buffer, buffer + size);
}

}  // namespace detail

// Decoded pixels: 8-bit RGB, rows without padding.
struct Pixels {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

// A loaded model (odp_model), released when the last copy goes. Used by one thread at a time.
class Model {
 public:
  static Model load(const std::string& path, odp_device device = ODP_DEVICE_AUTO) {
    odp_model* model = nullptr;
    const odp_model_options options = model_options(device);
    detail::check(odp_model_load(path.c_str(), &options, &model));
    return Model(model);
  }
  static Model load_memory(const std::vector<uint8_t>& bytes, odp_device device = ODP_DEVICE_AUTO) {
    odp_model* model = nullptr;
    const odp_model_options options = model_options(device);
    detail::check(odp_model_load_memory(bytes.data(), bytes.size(), &options, &model));
    return Model(model);
  }

  odp_model_info info() const {
    odp_model_info info{};
    info.struct_size = sizeof info;
    detail::check(odp_model_get_info(handle_.get(), &info));
    return info;
  }

  // options: nullptr for the defaults, else a struct filled by odp_encode_options_init and then changed.
  std::vector<uint8_t> encode(const odp_image& image, const odp_encode_options* options = nullptr) {
    uint8_t* file = nullptr;
    size_t size = 0;
    detail::check(odp_encode(handle_.get(), &image, options, &file, &size));
    return detail::take(file, size);
  }
  std::vector<uint8_t> encode(const uint8_t* rgb, int width, int height,
                              const odp_encode_options* options = nullptr) {
    const odp_image image = {width, height, static_cast<size_t>(width) * 3, rgb, nullptr, 0, nullptr, 0};
    return encode(image, options);
  }

  Pixels decode(const std::vector<uint8_t>& file, const odp_decode_options* options = nullptr) {
    uint8_t* rgb = nullptr;
    Pixels pixels;
    detail::check(
        odp_decode(handle_.get(), file.data(), file.size(), options, &rgb, &pixels.width, &pixels.height));
    pixels.rgb = detail::take(rgb, static_cast<size_t>(pixels.width) * pixels.height * 3);
    return pixels;
  }

  odp_model* get() const { return handle_.get(); }

 private:
  explicit Model(odp_model* model) : handle_(model, odp_model_free) {}
  static odp_model_options model_options(odp_device device) {
    odp_model_options options;
    odp_model_options_init(&options);
    options.device = device;
    return options;
  }
  std::shared_ptr<odp_model> handle_;
};

// Cuts a .odp file to fewer tokens without running the network; model only for files coded with its tables.
inline std::vector<uint8_t> truncate(const std::vector<uint8_t>& file, const odp_truncate_options& options,
                                     const Model* model = nullptr) {
  uint8_t* cut = nullptr;
  size_t size = 0;
  detail::check(odp_truncate(file.data(), file.size(), &options, model != nullptr ? model->get() : nullptr,
                             &cut, &size));
  return detail::take(cut, size);
}

// A .odp file's header and sizes, read without the model.
inline odp_file_info inspect(const std::vector<uint8_t>& file) {
  odp_file_info info{};
  info.struct_size = sizeof info;
  detail::check(odp_inspect(file.data(), file.size(), &info));
  return info;
}

}  // namespace odp
