// The one whole-file read and the one atomic write of odp, with "-" meaning stdin/stdout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace odp::base {

// Inputs larger than this are refused unless the caller passes its own cap: 1 GiB, above the largest image
// the readers accept (2^28 pixels) in any format that compresses at all.
constexpr uint64_t kDefaultMaxInputBytes = 1ull << 30;

// Reads a whole file ("-": stdin). Throws Error(kIo) naming the path (missing, a directory, unreadable), and
// Error(kBadInput) for an input longer than max_bytes: a regular file is refused from its size before any
// byte is read, a pipe or device (stdin, /dev/zero) once max_bytes + 1 bytes have arrived.
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes = kDefaultMaxInputBytes);

// A look at an input's first bytes before the rest is read: `check` is called once with the first `bytes`
// bytes (all of them when the input is shorter, possibly none) and throws to refuse the input. Input that
// cannot be what the caller reads (an endless stream of zeros given as an image) then costs one read of
// the device, not max_bytes of memory.
struct HeadCheck {
  size_t bytes = 0;
  std::function<void(const uint8_t* data, size_t size)> check;
};
// read_file, with head.check run on the first head.bytes bytes as soon as they have arrived (after the
// size check of a regular file).
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes, const HeadCheck& head);

// Writes bytes so that path holds either its old content or all of the new one, never a part: a temporary
// file beside it (a short hidden name, so that any name up to NAME_MAX works), flushed to disk (fsync)
// before the rename. "-" writes stdout; an existing non-regular file (/dev/null, a pipe) is written in
// place. Throws Error(kIo) naming the path; no temporary file survives, and while one exists its path is
// registered for remove_temporary_files_now().
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes);

// Unlinks every temporary file that a write_file_atomic in progress has created. Async-signal-safe (only
// unlink(2) on fixed storage): the programs' SIGINT/SIGTERM handler (cli/process.h) calls it before exiting.
void remove_temporary_files_now();

}  // namespace odp::base
