// The programs' process policy: glibc's allocator thresholds, LibTorch's CPU threads, environment switches.
#include "cli/process.h"

#include <ATen/Parallel.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace odp::cli {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  // Blocks up to 1 GiB come from the heap (not mmap), and the heap's top is not trimmed below 1 GiB free.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

namespace {
// Physical cores among the CPUs this process may run on; 0 where that cannot be told.
int physical_cores_available() {
#if defined(__linux__)
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 0;
  std::set<std::pair<long, long>> cores;  // (package id, core id)
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    const std::string topology = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    const auto read_id = [&](const char* name) {
      long id = -1;
      if (FILE* file = std::fopen((topology + name).c_str(), "r")) {
        if (std::fscanf(file, "%ld", &id) != 1) id = -1;
        std::fclose(file);
      }
      return id;
    };
    const long package = read_id("physical_package_id"), core = read_id("core_id");
    // A CPU without readable ids counts as a core of its own.
    cores.insert(package < 0 || core < 0 ? std::make_pair(-1L - cpu, 0L) : std::make_pair(package, core));
  }
  return static_cast<int>(cores.size());
#else
  return 0;
#endif
}
}  // namespace

void use_all_physical_cpu_cores() {
  if (std::getenv("OMP_NUM_THREADS") != nullptr) return;
  const int cores = physical_cores_available();
  if (cores > at::get_num_threads()) at::set_num_threads(cores);
}

void apply_process_policy() {
  keep_freed_memory_for_reuse();
  use_all_physical_cpu_cores();
}

void apply_model_environment(model::TileModel& model) {
  const char* force_fp32 = std::getenv("ODP_CPU_FP32");
  if (force_fp32 != nullptr && std::string(force_fp32) == "1") model.set_cpu_bf16_decode(false);
}

}  // namespace odp::cli
