// What the four tools share: argument parsing, exit codes, output naming, the progress bar and error
// reporting.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "codec/odp.h"
#include "imageio/image.h"

namespace odp::cli {

// Exit codes, the same for every tool (also in each --help).
enum ExitCode { kOk = 0, kUsage = 1, kBadInput = 2, kIoFailure = 3, kModelProblem = 4 };

// A mistake on the command line; reported with a pointer to --help, exit code 1.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses "-x", "--name value", "--name=value" and positionals; "-" is a positional (stdin/stdout) and
// "--" ends the options. Flags that take a value are listed in value_options, the others in switches.
class Arguments {
 public:
  Arguments(int argc, char** argv, const std::set<std::string>& value_options,
            const std::set<std::string>& switches);
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string text(const std::string& name, const std::string& fallback = "") const;
  int integer(const std::string& name, int low, int high) const;  // UsageError when not in low..high
  double number(const std::string& name, double low, double high) const;
  uint64_t byte_count(const std::string& name) const;  // accepts 1500, 20k, 2M (x1000)
  const std::vector<std::string>& inputs() const { return inputs_; }
  const std::string& tool() const { return tool_; }  // the program's name, for messages
  // How many of these options were given (to insist on exactly one rate flag).
  int count_of(const std::vector<std::string>& names) const;

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> inputs_;
  std::string tool_;
};

// Where each input's output goes: -o PATH for one input, -o DIR (existing) for several; without -o, beside
// the input with default_extension ("-" in, "-" out), unless the tool requires -o. Checked with
// check_outputs (in_place_allowed: odptrunc, which may replace its input).
std::vector<std::string> output_paths(const Arguments& arguments, const std::string& default_extension,
                                      bool output_required, bool in_place_allowed = false);
// UsageError when an output is the same file as an input (std::filesystem::equivalent: any spelling, links;
// output i may be input i when in_place_allowed) or when two inputs would be written to one output (both
// named). Otherwise outputs are overwritten, as cwebp does.
void check_outputs(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                   bool in_place_allowed);
// Whether two paths name one file: by filesystem identity when both exist, else by their resolved paths.
bool same_file(const std::string& a, const std::string& b);

// --max-pixels N (accepts 50M): the largest image odpenc reads and odpdec decodes; kDefaultMaxPixels without
// the flag, so that a small hostile file cannot make a tool allocate gigabytes (the library's own default is
// the format's 2^28).
constexpr uint64_t kDefaultMaxPixels = 64000000;
uint64_t max_pixels(const Arguments& arguments);

// The original to compare input against: --compare FILE, or --compare DIR holding <input's stem>.png.
std::string compare_path(const Arguments& arguments, const std::string& input);

// A progress bar on stderr, drawn only when stderr is a terminal and enabled; empty function otherwise.
codec::ProgressFn progress_bar(bool enabled, const std::string& label);

// Finds the model file without flags: explicit path (if non-empty), env ODP_MODEL, <exe dir>/odp.safetensors,
// <exe dir>/../share/odp/odp.safetensors (the installed model), then the source tree's
// model/weights/odp.safetensors. Throws CodecError(kModel) listing the places tried when none exists.
// exe_path: argv[0] or /proc/self/exe. The library itself never reads the environment; the tools do, here.
std::string find_model(const std::string& explicit_path, const std::string& exe_path);
// The model file the tools use: find_model with --model and this executable's path.
std::string locate_model(const Arguments& arguments);
// Locates and loads the model on --device (cpu, cuda or auto; anything else is a UsageError).
std::unique_ptr<model::TileModel> load_tool_model(const Arguments& arguments, bool verbose);

// Runs body(arguments) with every failure turned into a one-line message "tool: ..." and its exit code.
// usage is printed for --help/-h (exit 0), version_text for --version; --quiet is every tool's switch.
// runtime: the LibTorch/CUDA line of --version, for the tools that link LibTorch (libtorch_description).
// Several inputs: body handles each and returns the worst code.
int run_tool(int argc, char** argv, const std::string& usage, const std::set<std::string>& value_options,
             const std::set<std::string>& switches, const std::function<int(const Arguments&)>& body,
             const std::function<std::string()>& runtime = {});

// What --version prints: the odp version, the format versions written and read, runtime() (or that the tool
// links no LibTorch) and the default model's id (the CRC-32 of its file) or "no model found".
std::string version_text(const Arguments& arguments, const std::function<std::string()>& runtime);
// "LibTorch 2.1.2, CUDA: ..." from the TORCH_VERSION macros and LibTorch's CUDA check (cli_model.cpp).
std::string libtorch_description();

// "1 tile", "2 tiles".
std::string count_of_things(long long count, const std::string& thing);

// Runs one input's work, printing "tool: <input>: <message>" on failure; returns its exit code.
int for_input(const Arguments& arguments, const std::string& input, const std::function<void()>& work);

// A number as help texts print it: the shortest decimal that reads back the same ("0.25", "32").
std::string decimal(double value);

// value with `digits` digits after the point ("1.25"), as -v prints times and rates.
std::string fixed(double value, int digits);

// Seconds since `start` on the steady clock, for -v's times.
double seconds_since(std::chrono::steady_clock::time_point start);

// Exit codes and the model search order, appended to every --help.
extern const char* const kCommonHelp;

}  // namespace odp::cli
