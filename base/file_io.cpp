// The one whole-file read and the one atomic write (temporary file, fsync, rename), "-" meaning stdin/stdout.
#include "base/file_io.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "base/error.h"

namespace odp::base {
namespace {

Error io_error(const std::string& path, const std::string& what, int error_number) {
  return Error(path + ": " + what + ": " + std::strerror(error_number), ErrorKind::kIo);
}

Error too_large(const std::string& path, uint64_t max_bytes) {
  return Error(path + ": the input is larger than the limit of " + std::to_string(max_bytes) + " bytes",
               ErrorKind::kBadInput);
}

std::vector<uint8_t> read_all(int fd, const std::string& path, uint64_t max_bytes, const HeadCheck* head) {
  std::vector<uint8_t> bytes;
  uint8_t buffer[1 << 16];
  bool head_checked = head == nullptr || !head->check;
  for (;;) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw io_error(path, "cannot read", errno);
    if (got > 0 && static_cast<uint64_t>(got) > max_bytes - bytes.size()) {
      if (!head_checked) {  // the head's verdict names the problem better than the size does
        bytes.insert(bytes.end(), buffer, buffer + std::min<size_t>(static_cast<size_t>(got), head->bytes));
        head->check(bytes.data(), std::min(bytes.size(), head->bytes));
      }
      throw too_large(path, max_bytes);
    }
    bytes.insert(bytes.end(), buffer, buffer + got);
    if (!head_checked && (got == 0 || bytes.size() >= head->bytes)) {
      head_checked = true;
      head->check(bytes.data(), std::min(bytes.size(), head->bytes));
    }
    if (got == 0) return bytes;
  }
}

// Temporary files of writes in progress, for remove_temporary_files_now() in a signal handler: fixed slots
// (no allocation), each claimed with an atomic flag; a path that does not fit a slot is not registered.
constexpr int kTemporarySlots = 16;
struct TemporarySlot {
  std::atomic<int> state{0};  // 0 free, 1 being filled, 2 holds a path
  char path[PATH_MAX + 1] = "";
};
TemporarySlot temporary_slots[kTemporarySlots];

int register_temporary(const std::string& path) {
  if (path.size() > PATH_MAX) return -1;
  for (int i = 0; i < kTemporarySlots; ++i) {
    int expected = 0;
    if (!temporary_slots[i].state.compare_exchange_strong(expected, 1)) continue;
    std::memcpy(temporary_slots[i].path, path.c_str(), path.size() + 1);
    temporary_slots[i].state.store(2);
    return i;
  }
  return -1;
}

void unregister_temporary(int slot) {
  if (slot >= 0) temporary_slots[slot].state.store(0);
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
  int slot = -1;  // its registration for remove_temporary_files_now()
  ~TemporaryFile() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
    unregister_temporary(slot);
  }
};

}  // namespace

void remove_temporary_files_now() {
  for (TemporarySlot& slot : temporary_slots)
    if (slot.state.load() == 2) ::unlink(slot.path);
}

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes) {
  return read_file(path, max_bytes, HeadCheck{});
}

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes, const HeadCheck& head) {
  if (path == "-") return read_all(STDIN_FILENO, "stdin", max_bytes, &head);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(path, "cannot open", errno);
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    throw io_error(path, "cannot read", EISDIR);
  }
  if (S_ISREG(info.st_mode) && static_cast<uint64_t>(info.st_size) > max_bytes) {
    ::close(fd);
    throw too_large(path, max_bytes);
  }
  try {
    std::vector<uint8_t> bytes = read_all(fd, path, max_bytes, &head);
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
  // A short name in the same directory (so the rename stays on one file system): the output's own name may
  // be up to NAME_MAX long, and an added suffix would push it over.
  std::string pattern = (directory == "/" ? "" : directory) + "/.odp-tmp-XXXXXX";
  {
    // SIGINT/SIGTERM wait until the new file is registered, so that the handler cannot miss it.
    sigset_t blocked, previous;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &blocked, &previous);
    temporary.fd = ::mkstemp(pattern.data());
    const int error_number = errno;
    if (temporary.fd >= 0) {
      temporary.path = pattern;
      temporary.slot = register_temporary(pattern);
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (temporary.fd < 0) throw io_error(path, "cannot create a temporary file beside it", error_number);
  }
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
