// Loading a model (LibTorch) with every failure in the codec's terms (CodecError), from a path or from
// memory, and the names of the model's settings (device, GPU encode precision) as the codec's usage errors.
#include "codec/model_failure.h"
#include "codec/odp.h"

namespace odp::codec {
namespace {

// What parse() gives, with its ModelError (a name the model does not know) as the codec's usage error.
template <typename Parse>
auto parsed_as_usage(Parse&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const model::ModelError& error) {
    throw CodecError(error.what(), ErrorKind::kUsage);
  }
}

model::Device device_for(const std::string& device) {
  return parsed_as_usage([&] { return model::parse_device(device); });
}

// Building a network runs out of memory when the file's hyper-parameters ask for too much: that is the
// model file's problem (kModel, exit 4), not the input's.
[[noreturn]] void rethrow_load_failure(const std::string& failed, model::Device where) {
  try {
    detail::rethrow_model_failure(failed, where);
  } catch (const CodecError& error) {
    if (error.kind() != ErrorKind::kOutOfMemory) throw;
    throw CodecError(std::string(error.what()) + " (building the network; is the model file corrupt?)",
                     ErrorKind::kModel);
  }
}

}  // namespace

GpuPrecision parse_gpu_precision(const std::string& name) {
  return parsed_as_usage([&] { return model::parse_gpu_encode_precision(name); });
}

std::unique_ptr<model::TileModel> load_model(const std::string& path, const std::string& device) {
  const model::Device where = device_for(device);
  try {
    return model::TileModel::load(path, where);
  } catch (...) {
    rethrow_load_failure(path + ": LibTorch cannot load the model", where);
  }
}

std::unique_ptr<model::TileModel> load_model(const std::vector<uint8_t>& bytes, const std::string& name,
                                             const std::string& device) {
  const model::Device where = device_for(device);
  try {
    return model::TileModel::load(bytes, name, where);
  } catch (...) {
    rethrow_load_failure(name + ": LibTorch cannot load the model", where);
  }
}

}  // namespace odp::codec
