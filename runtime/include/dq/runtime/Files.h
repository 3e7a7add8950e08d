// How the runtime and the tools write files: one output-file policy for
// every writer, atomic replacement, directories without a shell, and the
// lock that keeps two runs out of one output directory.
#ifndef DQ_RUNTIME_FILES_H
#define DQ_RUNTIME_FILES_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dq {
namespace runtime {

/// The output-file policy of every dq writer. Throws Error unless `path` is
/// non-empty, ends in a file name (not "", "." or ".."), and names either
/// nothing or a regular file: a writer never replaces a symbolic link, a
/// directory, a device, a FIFO or a socket.
void checkOutputFile(const std::string &path);

/// Creates `dir` and its missing parents (like mkdir -p, without a shell).
/// Throws Error naming the component that exists and is not a directory, or
/// that cannot be created.
void createDirectories(const std::string &dir);

/// Appends `text` to `path` (created when missing), under checkOutputFile's
/// policy; the file is never opened through a symbolic link.
void appendToFile(const std::string &path, const std::string &text);

/// Writes a file so that `path` holds either its old contents or all of the
/// new ones: a uniquely named temporary file in the same directory is
/// written, fsync'ed and renamed over `path`, then the directory is fsync'ed.
/// On failure the temporary file is removed and `path` is left as it was.
/// `path` must satisfy checkOutputFile (checked when the writer is created
/// and again just before the rename).
class AtomicFileWriter {
public:
  explicit AtomicFileWriter(std::string path);
  /// As above; the file is created with permission bits `mode` (less the
  /// umask) instead of 0666: 0777 for a shared library, 0600 for a private
  /// file.
  AtomicFileWriter(std::string path, unsigned mode);
  AtomicFileWriter(const AtomicFileWriter &) = delete;
  AtomicFileWriter &operator=(const AtomicFileWriter &) = delete;
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicFileWriter();

  void write(const void *data, size_t size);
  /// Flushes, syncs and renames into place. Throws on failure.
  void commit();

  const std::string &path() const { return path_; }
  const std::string &tempPath() const { return tempPath_; }

private:
  void flushBuffer();
  void discard() noexcept;

  std::string path_;
  std::string tempPath_;
  int fd_ = -1;
  bool committed_ = false;
  std::vector<uint8_t> buffer_;
};

/// Writes `contents` to `path` with an AtomicFileWriter.
void writeFileAtomic(const std::string &path, const std::string &contents);
/// The same, created with permission bits `mode` (less the umask).
void writeFileAtomic(const std::string &path, const std::string &contents,
                     unsigned mode);

/// An exclusive lock on a directory, held while the object lives: the file
/// `<dir>/<name>` is flock'ed and holds the holder's pid. The kernel drops
/// the lock when the process ends, however it ends, so a killed run never
/// leaves a stale lock behind. `purpose` names the directory in messages
/// ("--out").
class DirectoryLock {
public:
  /// Throws Error naming the directory and the holder's pid when another
  /// process holds the lock.
  DirectoryLock(const std::string &dir, const std::string &name,
                const std::string &purpose);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock &) = delete;
  DirectoryLock &operator=(const DirectoryLock &) = delete;

  const std::string &path() const { return path_; }

private:
  std::string path_;
  int fd_ = -1;
};

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_FILES_H
