// Process-wide policy that programs (the tools, the benchmarks, the trainer) apply at start: the allocator,
// CPU threads, signals and the environment's model switches. The library never sets any of these itself.
#pragma once

#include "model/tile_model.h"

namespace odp::cli {

// Makes the C library keep freed memory for reuse instead of handing it back to the kernel (glibc; elsewhere
// a no-op). LibTorch's CPU tensors come straight from malloc, and by default glibc unmaps large freed blocks,
// so every activation is page-faulted in and zeroed again. The price is a resident size that stays at its
// peak, which is why only programs choose it (docs/performance.md has the measured gain).
void keep_freed_memory_for_reuse();

// Gives LibTorch's CPU thread pool one thread per physical core this process may run on (Linux: the affinity
// mask, cores told apart by sysfs's package and core ids), unless OMP_NUM_THREADS sets the count; it only
// ever raises LibTorch's own choice, which counts cores through cpuinfo and sees too few on some virtual
// machines.
void use_all_physical_cpu_cores();

// Both of the above, once at the start of a program that runs the model.
void apply_process_policy();

// Installs SIGINT/SIGTERM handlers that remove the temporary files of writes in progress
// (base::remove_temporary_files_now) and then die of the signal as before, so that an interrupted tool
// leaves neither a half output nor a temporary file. Every tool calls it first (run_tool); LibTorch-free
// (cli/process_signals.cpp), so odpinfo and odptrunc have it too.
void remove_temporary_files_on_signals();

// Applies the environment's switches to a loaded model: ODP_CPU_FP32=1 turns bf16 CPU decoding off.
void apply_model_environment(model::TileModel& model);

}  // namespace odp::cli
