// The output-file policy, atomic file writing, directories and locks
// (Files.h).
#include "dq/runtime/Files.h"

#include "dq/runtime/Error.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dq {
namespace runtime {

namespace {

constexpr size_t kWriteBufferSize = 1 << 20;

std::string errnoText(int error) { return std::strerror(error); }

/// write(2) until all of `data` is written; false with errno set otherwise.
bool writeAll(int fd, const uint8_t *data, size_t size) {
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    if (written == 0) {
      errno = EIO;
      return false;
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

/// What `mode` is, for messages.
const char *fileKind(mode_t mode) {
  if (S_ISLNK(mode))
    return "a symbolic link";
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "a device";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

std::string baseName(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

//===----------------------------------------------------------------------===//
// The output-file policy
//===----------------------------------------------------------------------===//

void checkOutputFile(const std::string &path) {
  if (path.empty())
    throw Error("an output file name is empty");
  std::string base = baseName(path);
  if (base.empty() || base == "." || base == "..")
    throw Error(path + ": not a file name");
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT)
      return;
    throw Error(path + ": cannot check the output file: " +
                std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode))
    throw Error(path + ": is " + fileKind(info.st_mode) +
                "; dq writes only regular files and refuses to replace it");
}

void createDirectories(const std::string &dir) {
  if (dir.empty())
    throw Error("a directory name is empty");
  // Each prefix ending before a '/', then the whole path.
  for (size_t end = dir.find('/', 1);; end = dir.find('/', end + 1)) {
    std::string prefix = dir.substr(0, end);
    if (!prefix.empty() && prefix.back() != '/') {
      struct stat info;
      if (::stat(prefix.c_str(), &info) == 0) {
        if (!S_ISDIR(info.st_mode))
          throw Error(prefix + ": exists and is not a directory");
      } else if (errno != ENOENT ||
                 (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST)) {
        throw Error(prefix + ": cannot create the directory: " +
                    std::strerror(errno));
      }
    }
    if (end == std::string::npos)
      break;
  }
}

void appendToFile(const std::string &path, const std::string &text) {
  checkOutputFile(path);
  int fd = ::open(path.c_str(),
                  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0)
    throw Error(path + ": cannot open for appending: " + std::strerror(errno));
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    throw Error(path + ": is not a regular file; refusing to append to it");
  }
  bool ok = writeAll(fd, reinterpret_cast<const uint8_t *>(text.data()),
                     text.size());
  int error = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (!ok)
    throw Error(path + ": cannot write: " + std::strerror(error));
}

//===----------------------------------------------------------------------===//
// AtomicFileWriter
//===----------------------------------------------------------------------===//

AtomicFileWriter::AtomicFileWriter(std::string path)
    : AtomicFileWriter(std::move(path), 0666) {}

AtomicFileWriter::AtomicFileWriter(std::string path, unsigned mode)
    : path_(std::move(path)) {
  checkOutputFile(path_);
  size_t slash = path_.rfind('/');
  std::string dirPrefix =
      slash == std::string::npos ? "" : path_.substr(0, slash + 1);
  std::string base = baseName(path_);

  // A hidden name in the same directory (rename is atomic only within one
  // file system); pid, a counter and the clock make it unique, and O_EXCL
  // guarantees we never write into somebody else's file.
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    uint64_t ticks = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    char suffix[64];
    std::snprintf(suffix, sizeof(suffix), ".tmp.%ld.%" PRIu64 ".%" PRIx64,
                  static_cast<long>(::getpid()), counter.fetch_add(1),
                  ticks & 0xffffffu);
    tempPath_ = dirPrefix + "." + base + suffix;
    fd_ = ::open(tempPath_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                 static_cast<mode_t>(mode & 07777));
    if (fd_ >= 0)
      return;
    if (errno != EEXIST) {
      int error = errno;
      tempPath_.clear(); // nothing of ours to remove
      throw Error(path_ +
                  ": cannot create a temporary file in its directory: " +
                  errnoText(error));
    }
  }
  tempPath_.clear();
  throw Error(path_ + ": cannot find an unused temporary file name");
}

AtomicFileWriter::~AtomicFileWriter() { discard(); }

void AtomicFileWriter::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!committed_ && !tempPath_.empty()) {
    ::unlink(tempPath_.c_str());
    tempPath_.clear();
  }
}

void AtomicFileWriter::flushBuffer() {
  if (buffer_.empty())
    return;
  if (fd_ < 0 || !writeAll(fd_, buffer_.data(), buffer_.size())) {
    int error = fd_ < 0 ? EBADF : errno;
    discard();
    throw Error(path_ + ": cannot write: " + errnoText(error));
  }
  buffer_.clear();
}

void AtomicFileWriter::write(const void *data, size_t size) {
  if (committed_)
    throw Error(path_ + ": write after commit");
  const auto *bytes = static_cast<const uint8_t *>(data);
  if (buffer_.size() + size <= kWriteBufferSize) {
    buffer_.insert(buffer_.end(), bytes, bytes + size);
    return;
  }
  // Large pieces (tensor data) go straight to the file.
  flushBuffer();
  if (fd_ < 0 || !writeAll(fd_, bytes, size)) {
    int error = fd_ < 0 ? EBADF : errno;
    discard();
    throw Error(path_ + ": cannot write: " + errnoText(error));
  }
}

void AtomicFileWriter::commit() {
  if (committed_)
    return;
  flushBuffer();
  auto failWith = [&](const char *step) {
    int error = errno;
    discard();
    throw Error(path_ + ": " + step + ": " + errnoText(error));
  };
  if (::fsync(fd_) != 0)
    failWith("cannot sync");
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0)
    failWith("cannot close");
  // The target may have been replaced while we wrote: check it again.
  try {
    checkOutputFile(path_);
  } catch (...) {
    discard();
    throw;
  }
  if (::rename(tempPath_.c_str(), path_.c_str()) != 0)
    failWith("cannot rename the temporary file into place");
  committed_ = true;

  // Make the rename itself durable.
  size_t slash = path_.rfind('/');
  std::string dir = slash == std::string::npos ? "."
                    : slash == 0               ? "/"
                                               : path_.substr(0, slash);
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd < 0)
    throw Error(path_ +
                ": written, but cannot open its directory to sync it: " +
                errnoText(errno));
  // Some file systems cannot sync directories (EINVAL); nothing more to do.
  if (::fsync(dirFd) != 0 && errno != EINVAL) {
    int error = errno;
    ::close(dirFd);
    throw Error(path_ + ": written, but cannot sync its directory: " +
                errnoText(error));
  }
  ::close(dirFd);
}

void writeFileAtomic(const std::string &path, const std::string &contents) {
  AtomicFileWriter writer(path);
  writer.write(contents.data(), contents.size());
  writer.commit();
}

void writeFileAtomic(const std::string &path, const std::string &contents,
                     unsigned mode) {
  AtomicFileWriter writer(path, mode);
  writer.write(contents.data(), contents.size());
  writer.commit();
}

//===----------------------------------------------------------------------===//
// DirectoryLock
//===----------------------------------------------------------------------===//

DirectoryLock::DirectoryLock(const std::string &dir, const std::string &name,
                             const std::string &purpose)
    : path_(dir + "/" + name) {
  checkOutputFile(path_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd_ < 0)
    throw Error(path_ + ": cannot open the lock file: " +
                std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    char holder[64] = {0};
    ssize_t got = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (error != EWOULDBLOCK)
      throw Error(path_ + ": cannot lock: " + std::strerror(error));
    std::string pid = got > 0 ? std::string(holder, static_cast<size_t>(got))
                              : std::string();
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
      pid.pop_back();
    throw Error(purpose + " " + dir + " is in use by another process" +
                (pid.empty() ? std::string() : " (pid " + pid + ")") +
                " that holds " + path_ +
                "; wait for it to finish or choose another " + purpose);
  }
  std::string pid = std::to_string(static_cast<long>(::getpid())) + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      !writeAll(fd_, reinterpret_cast<const uint8_t *>(pid.data()),
                pid.size())) {
    int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw Error(path_ + ": cannot write the lock file: " +
                std::strerror(error));
  }
}

DirectoryLock::~DirectoryLock() {
  // Closing drops the flock; the file stays (removing it would race with a
  // process that has just opened it).
  if (fd_ >= 0)
    ::close(fd_);
}

} // namespace runtime
} // namespace dq
