// libFuzzer target for the tools' argument parser and output naming (cli::Arguments, output_paths,
// compare_path, the numeric accessors): the input is split at NUL bytes into argv; every outcome is a value
// or a UsageError / CodecError, never a crash.
#include <string>
#include <vector>

#include "cli/cli_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words = {"odpenc"};
  std::string word;
  for (size_t i = 0; i < size && words.size() < 64; ++i) {
    if (data[i] == 0) {
      words.push_back(word);
      word.clear();
    } else {
      word.push_back(static_cast<char>(data[i]));
    }
  }
  if (!word.empty()) words.push_back(word);
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  using odp::cli::Arguments;
  try {
    const Arguments arguments(
        static_cast<int>(words.size()), argv.data(),
        {"-o", "--tokens", "--quality", "--size", "--max-pixels", "--compare", "--overlap"},
        {"-v", "-q", "--flatten-alpha"});
    for (const char* name : {"--tokens", "--quality", "--size", "--max-pixels", "--overlap"}) {
      if (!arguments.has(name)) continue;
      try {
        arguments.integer(name, 0, 256);
      } catch (const odp::cli::UsageError&) {
      }
      try {
        arguments.number(name, 0, 100);
      } catch (const odp::cli::UsageError&) {
      }
      try {
        arguments.byte_count(name);
      } catch (const odp::cli::UsageError&) {
      }
    }
    try {
      odp::cli::max_pixels(arguments);
    } catch (const odp::cli::UsageError&) {
    }
    const std::vector<std::string> outputs = odp::cli::output_paths(arguments, ".odp", false);
    if (outputs.size() != arguments.inputs().size()) std::abort();
    if (arguments.has("--compare") && !arguments.inputs().empty())
      odp::cli::compare_path(arguments, arguments.inputs()[0]);
  } catch (const odp::cli::UsageError&) {
  } catch (const odp::base::Error&) {
  }
  return 0;
}
