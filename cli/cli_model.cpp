// The tools' model handling: locate the model file (search order in cli_common.h) and load it on --device.
#include <unistd.h>

#include <climits>
#include <iostream>

#include "cli/cli_common.h"

namespace odp::cli {
namespace {

std::string executable_path() {
  char buffer[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  return length > 0 ? std::string(buffer, static_cast<size_t>(length)) : std::string();
}

}  // namespace

std::string locate_model(const Arguments& arguments) {
  return codec::find_model(arguments.text("--model"), executable_path());
}

std::unique_ptr<model::TileModel> load_tool_model(const Arguments& arguments, bool verbose) {
  const std::string device = arguments.text("--device", "auto");
  if (device != "cpu" && device != "cuda" && device != "auto")
    throw UsageError("--device must be cpu, cuda or auto, not '" + device + "'");
  const std::string path = locate_model(arguments);
  if (verbose) std::cerr << arguments.tool() << ": model " << path << "\n";
  return codec::load_model(path, device);
}

}  // namespace odp::cli
