// The one whole-file read and the one atomic write (temporary file, fsync, rename), "-" meaning stdin/stdout.
#include "base/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.h"

namespace odp::base {
namespace {

Error io_error(const std::string& path, const std::string& what, int error_number) {
  return Error(path + ": " + what + ": " + std::strerror(error_number), ErrorKind::kIo);
}

std::vector<uint8_t> read_all(int fd, const std::string& path) {
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  for (;;) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw io_error(path, "cannot read", errno);
    if (got == 0) return bytes;
    bytes.insert(bytes.end(), buffer, buffer + got);
  }
}

void write_all(int fd, const std::vector<uint8_t>& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t put = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw io_error(path, "cannot write", errno);
    done += static_cast<size_t>(put);
  }
}

std::string parent_directory(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Closes a descriptor and removes a temporary file unless released, so no failure leaves a half file.
struct TemporaryFile {
  std::string path;
  int fd = -1;
  ~TemporaryFile() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
  if (path == "-") return read_all(STDIN_FILENO, "stdin");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(path, "cannot open", errno);
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    throw io_error(path, "cannot read", EISDIR);
  }
  try {
    std::vector<uint8_t> bytes = read_all(fd, path);
    ::close(fd);
    return bytes;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (path == "-") {
    write_all(STDOUT_FILENO, bytes, "stdout");
    return;
  }
  // An existing non-regular target (/dev/null, /dev/full, a pipe) is written in place: renaming over it
  // would replace the device, and such targets cannot hold a partial file anyway.
  struct stat target {};
  if (::stat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode)) {
    if (S_ISDIR(target.st_mode)) throw io_error(path, "cannot write", EISDIR);
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw io_error(path, "cannot open for writing", errno);
    TemporaryFile device{"", fd};  // closes only
    write_all(fd, bytes, path);
    return;
  }
  std::string directory = parent_directory(path);
  struct stat directory_info {};
  if (::stat(directory.c_str(), &directory_info) != 0)
    throw io_error(path, "output directory " + directory, errno);
  TemporaryFile temporary;
  std::string pattern = path + ".tmpXXXXXX";
  temporary.fd = ::mkstemp(pattern.data());
  if (temporary.fd < 0) throw io_error(path, "cannot create a temporary file beside it", errno);
  temporary.path = pattern;
  write_all(temporary.fd, bytes, path);
  // Keep the permissions an ordinary new file would get (mkstemp makes it 0600).
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(temporary.fd, 0666 & ~mask);
  // Flushed before the rename, so that a crash cannot leave the new name pointing at an empty file.
  if (::fsync(temporary.fd) != 0) throw io_error(path, "cannot flush", errno);
  int fd = temporary.fd;
  temporary.fd = -1;
  if (::close(fd) != 0) throw io_error(path, "cannot write", errno);
  if (::rename(temporary.path.c_str(), path.c_str()) != 0)
    throw io_error(path, "cannot rename into place", errno);
  temporary.path.clear();
}

}  // namespace odp::base
