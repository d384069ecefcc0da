// Progress bar: fraction done, item name and a remaining-time estimate, redrawn in place with '\r'.
#include "bench/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace odp::bench {

ProgressBar::ProgressBar(int total)
    : total_(std::max(1, total)),
      enabled_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(int done, const std::string& label) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  const int filled = std::clamp(done * kWidth / total_, 0, kWidth);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double remaining = done > 0 ? elapsed * (total_ - done) / done : 0;
  std::fprintf(stderr, "\r[%s%s] %d/%d  %-32.32s  %4.0fs left \x1b[K", std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), done, total_, label.c_str(), remaining);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (drawn_) std::fprintf(stderr, "\r\x1b[K");
  drawn_ = false;
}

}  // namespace odp::bench
