// Reading a model file's tables without LibTorch, with errors in the codec's terms.
#include "codec/odp.h"
#include "model/model_file.h"

namespace odp::codec {
model::ModelInfo load_model_info(const std::string& path) {
  try {
    return model::read_model_info(path);
  } catch (const model::ModelError& error) {
    throw CodecError(error.what(), ErrorKind::kModel);
  } catch (const std::bad_alloc&) {
    throw CodecError(path + ": out of memory reading the model file", ErrorKind::kModel);
  }
}

}  // namespace odp::codec
