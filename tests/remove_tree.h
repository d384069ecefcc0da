// Removes a test's temporary folder and everything in it, without std::filesystem::remove_all.
#pragma once

#include <ftw.h>

#include <cstdio>
#include <filesystem>

namespace odp::testing {

// Not std::filesystem::remove_all: the GPU machine's LibTorch (PyTorch 2.11's libtorch.so) exports its own
// copy of that function, the dynamic linker binds the tests' calls to it, and it crashes there (a call
// through a null pointer; cuda-gdb backtrace, 2026-11-29). A missing path is not an error.
inline void remove_tree(const std::filesystem::path& path) {
  nftw(
      path.c_str(),
      [](const char* entry, const struct stat*, int, struct FTW*) { return std::remove(entry); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

}  // namespace odp::testing
