// Whole-file read and atomic write (temporary file beside the target, then rename) for .odp files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "odp_format.h"

namespace odp::format {

namespace {

std::string system_error(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}

// Closes the descriptor and, unless released, removes the temporary file: no half file survives a failure.
class TemporaryFile {
 public:
  explicit TemporaryFile(const std::string& target) {
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
      path_ = target + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
      // 0666 minus the umask: the final file gets the permissions a plain create would give it.
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ < 0 && errno != EEXIST) break;
    }
    if (fd_ < 0) throw FormatError(system_error("cannot create a temporary file beside", target));
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!released_) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  void write_all(const std::vector<uint8_t>& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t written = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) throw FormatError(system_error("cannot write", path_));
      done += static_cast<size_t>(written);
    }
    // Flush before the rename so a crash cannot leave the new name pointing at an empty file.
    if (::fsync(fd_) != 0) throw FormatError(system_error("cannot flush", path_));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw FormatError(system_error("cannot close", path_));
  }

  void rename_to(const std::string& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0)
      throw FormatError(system_error("cannot rename onto", target));
    released_ = true;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool released_ = false;
};

}  // namespace

std::vector<uint8_t> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FormatError(system_error("cannot open", path));
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const std::string message = system_error("cannot read", path);
      ::close(fd);
      throw FormatError(message);
    }
    if (got == 0) break;
    bytes.insert(bytes.end(), buffer, buffer + got);
  }
  ::close(fd);
  return bytes;
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes) {
  TemporaryFile temporary(path);
  temporary.write_all(bytes);
  temporary.rename_to(path);
}

}  // namespace odp::format
