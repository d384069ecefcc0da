// The error every odp layer above format/ throws: a message and a kind, so callers map failures to codes.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

namespace odp::base {

// What went wrong, so that tools and the C API can map a failure onto a code without parsing messages.
enum class ErrorKind {
  kBadInput,     // unsupported, corrupt, truncated beyond use, zero-sized or too large input
  kIo,           // a file could not be opened, read or written (missing, permissions, full disk)
  kModel,        // no model file, a broken one, or a .odp made by a different model
  kUsage,        // an impossible request (e.g. a quality outside 0..100, a size smaller than any file)
  kOutOfMemory,  // memory for the image, the file or the model's work could not be had
  kDevice,       // the GPU (CUDA) failed while the model ran on it
};

// what() is one line naming the thing that failed (a path, a field, an option) and why.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::kBadInput)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// The text with every byte below 0x20 and 0x7F written as \xNN, so that a file name or header bytes echoed in
// a message can neither drive the terminal (ANSI escapes) nor break a message's one-line form. Every message
// the tools print passes through it (cli/cli_common.cpp).
inline std::string printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7F) {
      out.push_back(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
      out += escaped;
    }
  }
  return out;
}

}  // namespace odp::base
