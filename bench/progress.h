// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <string>

namespace odp::bench {

class ProgressBar {
 public:
  explicit ProgressBar(int total);  // draws nothing unless stderr is a TTY
  void update(int done, const std::string& label);
  void finish();  // clears the line
  ~ProgressBar() { finish(); }

 private:
  int total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace odp::bench
