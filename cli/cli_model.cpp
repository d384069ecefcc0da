// The tools' model loading on --device (LibTorch); locating the file is in cli_common.cpp.
#include <torch/version.h>

#include <iostream>

#include "cli/cli_common.h"
#include "cli/process.h"

namespace odp::cli {
std::string libtorch_description() {
  std::string text = "LibTorch " TORCH_VERSION ", CUDA: ";
  // LibTorch's own check: false both for a CPU-only LibTorch and for a CUDA one without a visible GPU.
  text += model::cuda_available() ? "yes (--device auto uses the GPU)" : "no (the model runs on the CPU)";
  return text;
}

std::unique_ptr<model::TileModel> load_tool_model(const Arguments& arguments, bool verbose) {
  const std::string device = arguments.text("--device", "auto");
  if (device != "cpu" && device != "cuda" && device != "auto")
    throw UsageError("--device must be cpu, cuda or auto, not '" + device + "'");
  const std::string path = locate_model(arguments);
  if (verbose) std::cerr << arguments.tool() << ": model " << path << "\n";
  apply_process_policy();
  std::unique_ptr<model::TileModel> model = codec::load_model(path, device);
  apply_model_environment(*model);
  return model;
}

}  // namespace odp::cli
