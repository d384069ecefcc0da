// Finding the shipped model file without flags, and reading its tables without LibTorch.
#include <sys/stat.h>

#include <cstdlib>

#include "codec/odp.h"
#include "model/model_file.h"

namespace odp::codec {
namespace {

bool is_regular_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

std::string find_model(const std::string& explicit_path, const std::string& exe_path) {
  if (!explicit_path.empty()) {
    if (!is_regular_file(explicit_path))
      throw CodecError(explicit_path + ": model file not found (given with --model)", ErrorKind::kModel);
    return explicit_path;
  }
  if (const char* from_environment = std::getenv("ODP_MODEL"); from_environment && *from_environment) {
    if (!is_regular_file(from_environment))
      throw CodecError(std::string(from_environment) + ": model file not found (named by ODP_MODEL)", ErrorKind::kModel);
    return from_environment;
  }
  std::vector<std::string> candidates;
  if (!exe_path.empty()) {
    const std::string directory = directory_of(exe_path);
    candidates.push_back(directory + "/odp.safetensors");
    candidates.push_back(directory + "/../share/odp/odp.safetensors");
  }
#ifdef ODP_SOURCE_MODEL_PATH
  candidates.push_back(ODP_SOURCE_MODEL_PATH);
#endif
  std::string tried;
  for (const std::string& candidate : candidates) {
    if (is_regular_file(candidate)) return candidate;
    tried += (tried.empty() ? "" : ", ") + candidate;
  }
  throw CodecError("no model file found: give one with --model FILE or ODP_MODEL=FILE (looked in " + tried + ")",
                   ErrorKind::kModel);
}

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
