// What both CLI test files need to drive the built tools: run a shell line in a scratch folder, capture it.
#pragma once
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace odp::test {

struct Result {
  int code = -1;  // the exit status, -1 when the line did not exit normally (a signal)
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

// A new folder /tmp/<prefix>-XXXXXX, removed with all it holds when the object goes.
struct ScratchFolder {
  std::string dir;
  explicit ScratchFolder(const std::string& prefix) {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot make a folder " + pattern);
    dir = pattern;
  }
  ~ScratchFolder() { std::system(("rm -rf " + dir).c_str()); }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  std::string path(const std::string& name) const { return dir + "/" + name; }
};

// Runs `command` with sh in `dir`, with ODP_MODEL set to `model` (a line may set it again itself); its
// stdout and stderr go through files in `dir`.
inline Result run_in(const std::string& dir, const std::string& model, const std::string& command) {
  const std::string out = dir + "/stdout.txt", err = dir + "/stderr.txt";
  const std::string line =
      "cd " + dir + " && export ODP_MODEL=" + model + " && (" + command + ") >" + out + " 2>" + err;
  const int status = std::system(line.c_str());
  Result result;
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

}  // namespace odp::test
