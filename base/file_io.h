// The one whole-file read and the one atomic write of odp, with "-" meaning stdin/stdout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace odp::base {

// Reads a whole file ("-": stdin). Throws Error(kIo) naming the path (missing, a directory, unreadable).
std::vector<uint8_t> read_file(const std::string& path);

// Writes bytes so that path holds either its old content or all of the new one, never a part: a temporary
// file beside it, flushed to disk (fsync) before the rename. "-" writes stdout; an existing non-regular file
// (/dev/null, a pipe) is written in place. Throws Error(kIo) naming the path; no temporary file survives.
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace odp::base
