// Loading a model (LibTorch) with errors in the codec's terms.
#include "codec/odp.h"

namespace odp::codec {

std::unique_ptr<model::TileModel> load_model(const std::string& path, const std::string& device) {
  try {
    return model::TileModel::load(path, model::parse_device(device));
  } catch (const model::ModelError& error) {
    throw CodecError(error.what(), ErrorKind::kModel);
  } catch (const std::bad_alloc&) {
    throw CodecError(path + ": out of memory loading the model", ErrorKind::kModel);
  }
}

}  // namespace odp::codec
