// Shared tool plumbing: argument parsing, exit codes, output naming, progress bar, error reporting.
#include "cli/cli_common.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/process.h"
#include "format/odp_format.h"
#include "model/model_file.h"

namespace odp::cli {

const char* const kCommonHelp = R"(
Exit codes: 0 ok, 1 usage error, 2 bad input (unsupported, corrupt or too large), 3 I/O failure (missing
file, unwritable output, full disk), 4 model problem (no model file, a broken one, a .odp from another
model, or the model failed to run on the CPU or the GPU). With several inputs, every input is tried and the
first failure's code is returned.
The model is found without flags in this order: --model FILE, $ODP_MODEL, odp.safetensors next to the
tool, ../share/odp/odp.safetensors next to the tool, then the source tree's model/weights/odp.safetensors.
"-" means stdin or stdout. Every tool also takes --version (odp, format, LibTorch and CUDA, the default
model's id) and --quiet (cwebp's -quiet: no progress bar, no warnings; errors are still printed). cwebp's
single-dash spellings work where they mean the same: -q, -size, -psnr, -metadata, -print_psnr, -short, -mt,
-quiet, -version.
)";

namespace {

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string replace_extension(const std::string& path, const std::string& extension) {
  const std::string name = base_name(path);
  const size_t dot = name.rfind('.');
  const std::string stem =
      (dot == std::string::npos || dot == 0) ? path : path.substr(0, path.size() - name.size() + dot);
  return stem + extension;
}

bool is_regular_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

bool is_directory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

int exit_code_for(codec::ErrorKind kind) {
  switch (kind) {
    case codec::ErrorKind::kBadInput:
      return kBadInput;
    case codec::ErrorKind::kIo:
      return kIoFailure;
    case codec::ErrorKind::kModel:
      return kModelProblem;
    case codec::ErrorKind::kUsage:
      return kUsage;
    case codec::ErrorKind::kOutOfMemory:
      return kBadInput;  // in practice an input too large for this machine
    case codec::ErrorKind::kDevice:
      return kModelProblem;
  }
  return kBadInput;
}

std::string executable_path() {
  char buffer[PATH_MAX];
  const ssize_t length = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  return length > 0 ? std::string(buffer, static_cast<size_t>(length)) : std::string();
}

// cwebp's (and cjxl's, avifenc's) single-dash spellings, accepted where a tool has the option they mean.
const std::map<std::string, std::string>& single_dash_spellings() {
  static const std::map<std::string, std::string> spellings = {
      {"-q", "--quality"},         {"-quiet", "--quiet"},
      {"-size", "--size"},         {"-psnr", "--target-psnr"},
      {"-metadata", "--metadata"}, {"-short", "--short"},
      {"-version", "--version"},   {"-print_psnr", "--print-psnr"},
      {"-help", "--help"},         {"-mt", "--mt"},
      {"-model", "--model"},       {"-device", "--device"}};
  return spellings;
}

// Levenshtein distance, for "did you mean" on an unknown option.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string without_dashes(const std::string& option) {
  const size_t start = option.find_first_not_of('-');
  return start == std::string::npos ? "" : option.substr(start);
}

// The known option nearest to an unknown one (dashes aside), or "" when none is near enough to be a typo.
std::string nearest_option(const std::string& word, const std::set<std::string>& known) {
  const std::string bare = without_dashes(word);
  std::string best;
  size_t best_distance = std::max<size_t>(2, bare.size() / 3) + 1;
  for (const std::string& option : known) {
    const std::string name = without_dashes(option);
    // A prefix ("-q" of --quiet) is as near as one typo.
    const size_t distance = !bare.empty() && name.rfind(bare, 0) == 0 ? 1 : edit_distance(bare, name);
    if (distance < best_distance) best_distance = distance, best = option;
  }
  return best;
}

}  // namespace

Arguments::Arguments(int argc, char** argv, const std::set<std::string>& value_options,
                     const std::set<std::string>& switches)
    : tool_(base_name(argc > 0 ? argv[0] : "odp")) {
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (options_done || word == "-" || word.empty() || word[0] != '-') {
      inputs_.push_back(word);
      continue;
    }
    if (word == "--") {
      options_done = true;
      continue;
    }
    std::string value;
    const size_t equals = word.find('=');
    const bool inline_value = word.rfind("--", 0) == 0 && equals != std::string::npos;
    if (inline_value) {
      value = word.substr(equals + 1);
      word = word.substr(0, equals);
    }
    if (!switches.count(word) && !value_options.count(word)) {
      auto spelling = single_dash_spellings().find(word);
      if (spelling != single_dash_spellings().end() &&
          (switches.count(spelling->second) || value_options.count(spelling->second)))
        word = spelling->second;
    }
    if (switches.count(word)) {
      if (inline_value) throw UsageError(word + " takes no value");
      values_[word] = "";
    } else if (value_options.count(word)) {
      if (!inline_value) {
        if (i + 1 >= argc) throw UsageError(word + " needs a value");
        value = argv[++i];
      }
      if (values_.count(word)) throw UsageError(word + " is given twice");
      values_[word] = value;
    } else {
      std::set<std::string> known = switches;
      known.insert(value_options.begin(), value_options.end());
      const std::string nearest = nearest_option(word, known);
      throw UsageError("unknown option " + word + (nearest.empty() ? "" : "; did you mean " + nearest + "?"));
    }
  }
}

std::string Arguments::text(const std::string& name, const std::string& fallback) const {
  auto found = values_.find(name);
  return found == values_.end() ? fallback : found->second;
}

double Arguments::number(const std::string& name, double low, double high) const {
  const std::string value = text(name);
  size_t used = 0;
  double parsed = NAN;
  try {
    parsed = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || !(parsed >= low && parsed <= high))
    throw UsageError(name + " must be a number in " + std::to_string(static_cast<long long>(low)) + ".." +
                     std::to_string(static_cast<long long>(high)) + ", not '" + value + "'");
  return parsed;
}

int Arguments::integer(const std::string& name, int low, int high) const {
  const double value = number(name, low, high);
  if (value != std::floor(value))
    throw UsageError(name + " must be a whole number, not '" + text(name) + "'");
  return static_cast<int>(value);
}

uint64_t Arguments::byte_count(const std::string& name) const {
  std::string value = text(name);
  uint64_t scale = 1;
  if (!value.empty() && (value.back() == 'k' || value.back() == 'K')) scale = 1000;
  if (!value.empty() && (value.back() == 'm' || value.back() == 'M')) scale = 1000000;
  if (scale != 1) value.pop_back();
  const bool digits =
      !value.empty() && value.size() <= 12 && std::all_of(value.begin(), value.end(), ::isdigit);
  const uint64_t bytes = digits ? std::stoull(value) * scale : 0;
  if (bytes == 0)
    throw UsageError(name + " must be a positive byte count (e.g. 1500, 20k, 2M), not '" + text(name) + "'");
  return bytes;
}

int Arguments::count_of(const std::vector<std::string>& names) const {
  return static_cast<int>(
      std::count_if(names.begin(), names.end(), [&](const std::string& n) { return has(n); }));
}

std::vector<std::string> output_paths(const Arguments& arguments, const std::string& default_extension,
                                      bool output_required, bool in_place_allowed) {
  const std::vector<std::string>& inputs = arguments.inputs();
  if (inputs.empty()) throw UsageError("no input file given");
  const std::string output = arguments.text("-o");
  std::vector<std::string> outputs;
  if (inputs.size() == 1 && arguments.has("-o") && !is_directory(output)) {
    outputs = {output};
  } else {
    if (arguments.has("-o") && !is_directory(output))
      throw UsageError("with several inputs, -o must name an existing directory (" + output + " is not one)");
    if (!arguments.has("-o") && output_required) throw UsageError("say where to write with -o FILE");
    for (const std::string& input : inputs) {
      if (input == "-" && arguments.has("-o")) throw UsageError("give stdin's output as a file with -o FILE");
      if (input == "-") {
        outputs.push_back("-");
      } else if (arguments.has("-o")) {
        outputs.push_back(output + "/" + base_name(replace_extension(input, default_extension)));
      } else {
        outputs.push_back(replace_extension(input, default_extension));
      }
    }
  }
  check_outputs(inputs, outputs, in_place_allowed);
  return outputs;
}

bool same_file(const std::string& a, const std::string& b) {
  if (a == "-" || b == "-") return false;
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::equivalent(a, b, error)) return true;  // both exist: hard links, symlinks, any spelling
  // Not both there yet (two outputs): the same place once "." "..", "//" and symbolic links are resolved.
  const fs::path first = fs::weakly_canonical(fs::absolute(a, error), error);
  if (error) return a == b;
  const fs::path second = fs::weakly_canonical(fs::absolute(b, error), error);
  return error ? a == b : first == second;
}

void check_outputs(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                   bool in_place_allowed) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    for (size_t j = 0; j < inputs.size(); ++j)
      if (!(in_place_allowed && i == j) && same_file(outputs[i], inputs[j]))
        throw UsageError(outputs[i] + ": writing it would overwrite the input " + inputs[j] +
                         "; name another output with -o");
    for (size_t k = 0; k < i; ++k)
      if (same_file(outputs[i], outputs[k]))
        throw UsageError(inputs[k] + " and " + inputs[i] + " would both be written to " + outputs[i] +
                         "; convert them separately with -o FILE");
  }
}

uint64_t max_pixels(const Arguments& arguments) {
  if (!arguments.has("--max-pixels")) return kDefaultMaxPixels;
  const uint64_t pixels = arguments.byte_count("--max-pixels");
  if (pixels > (1ull << 28))
    throw UsageError("--max-pixels must be at most 268435456 (the format's limit), not '" +
                     arguments.text("--max-pixels") + "'");
  return pixels;
}

std::string compare_path(const Arguments& arguments, const std::string& input) {
  const std::string path = arguments.text("--compare");
  if (!is_directory(path)) return path;
  return path + "/" + base_name(replace_extension(input, ".png"));
}

codec::ProgressFn progress_bar(bool enabled, const std::string& label) {
  if (!enabled || !::isatty(STDERR_FILENO)) return {};
  return [label, last = -1](int64_t done, int64_t total) mutable {
    const int percent = total > 0 ? static_cast<int>(100 * done / total) : 100;
    if (percent == last) return;
    last = percent;
    const int width = 30, filled = percent * width / 100;
    std::fprintf(stderr, "\r%s [%s%s] %3d%%", label.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), percent);
    if (percent >= 100) std::fprintf(stderr, "\r%*s\r", static_cast<int>(label.size()) + width + 8, "");
    std::fflush(stderr);
  };
}

int for_input(const Arguments& arguments, const std::string& input, const std::function<void()>& work) {
  const std::string name = input == "-" ? "stdin" : input;
  try {
    work();
    return kOk;
  } catch (const codec::CodecError& error) {
    std::string message = error.what();
    if (message.find(name) == std::string::npos) message = name + ": " + message;
    std::cerr << arguments.tool() << ": " << base::printable(message) << "\n";
    return exit_code_for(error.kind());
  } catch (const std::bad_alloc&) {
    std::cerr << arguments.tool() << ": " << base::printable(name) << ": out of memory\n";
    return kBadInput;
  }
}

int run_tool(int argc, char** argv, const std::string& usage, const std::set<std::string>& value_options,
             const std::set<std::string>& switches, const std::function<int(const Arguments&)>& body,
             const std::function<std::string()>& runtime) {
  const std::string tool = base_name(argc > 0 ? argv[0] : "odp");
  remove_temporary_files_on_signals();
  std::set<std::string> all_switches = switches;
  all_switches.insert({"-h", "--help", "--version", "--quiet"});
  try {
    const Arguments arguments(argc, argv, value_options, all_switches);
    if (arguments.has("-h") || arguments.has("--help")) {
      std::cout << usage << kCommonHelp;
      return kOk;
    }
    if (arguments.has("--version")) {
      std::cout << version_text(arguments, runtime);
      return kOk;
    }
    return body(arguments);
  } catch (const UsageError& error) {
    std::cerr << tool << ": " << base::printable(error.what()) << " (see " << tool << " --help)\n";
    return kUsage;
  } catch (const codec::CodecError& error) {
    std::cerr << tool << ": " << base::printable(error.what()) << "\n";
    return exit_code_for(error.kind());
  } catch (const std::exception& error) {
    std::cerr << tool << ": unexpected failure: " << base::printable(error.what()) << "\n";
    return kBadInput;
  }
}

std::string count_of_things(long long count, const std::string& thing) {
  return std::to_string(count) + " " + thing + (count == 1 ? "" : "s");
}

std::string fixed(double value, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string decimal(double value) {
  std::ostringstream text;
  text << std::setprecision(17) << value;
  for (int digits = 1; digits <= 17; ++digits) {
    std::ostringstream shorter;
    shorter << std::setprecision(digits) << value;
    if (std::stod(shorter.str()) == value) return shorter.str();
  }
  return text.str();
}

std::string version_text(const Arguments& arguments, const std::function<std::string()>& runtime) {
  std::ostringstream text;
  text << arguments.tool() << " (odp) " << ODP_VERSION_STRING << "\n"
       << "format: writes .odp version " << format::kLatestVersion << ", reads versions 1";
  for (int version = 2; version <= format::kLatestVersion; ++version)
    text << (version == format::kLatestVersion ? " and " : ", ") << version;
  text << "\n"
       << (runtime ? runtime() : std::string("LibTorch: not linked (this tool never runs the model)"))
       << "\n";
  // The id is the CRC-32 of the model file (what .odp files record): reading the file is enough, the network
  // is not built.
  try {
    const std::string path = locate_model(arguments);
    text << "model: " << model::model_id_text(model::model_id_of(base::read_file(path))) << " (" << path
         << ")\n";
  } catch (const std::exception&) {
    text << "model: no model found\n";
  }
  return text.str();
}

std::string find_model(const std::string& explicit_path, const std::string& exe_path) {
  if (!explicit_path.empty()) {
    if (!is_regular_file(explicit_path))
      throw codec::CodecError(explicit_path + ": model file not found (given with --model)",
                              codec::ErrorKind::kModel);
    return explicit_path;
  }
  if (const char* from_environment = std::getenv("ODP_MODEL"); from_environment && *from_environment) {
    if (!is_regular_file(from_environment))
      throw codec::CodecError(std::string(from_environment) + ": model file not found (named by ODP_MODEL)",
                              codec::ErrorKind::kModel);
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
  throw codec::CodecError(
      "no model file found: give one with --model FILE or ODP_MODEL=FILE (looked in " + tried + ")",
      codec::ErrorKind::kModel);
}

std::string locate_model(const Arguments& arguments) {
  return find_model(arguments.text("--model"), executable_path());
}

}  // namespace odp::cli
