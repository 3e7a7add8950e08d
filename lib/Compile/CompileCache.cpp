//===- CompileCache.cpp - dq-compile's cache of compiled libraries --------===//
#include "dq/Compile/CompileCache.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/Files.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/BLAKE3.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rt = ::dq::runtime;

namespace dq::compile {

namespace {

constexpr const char *kEntryMagic = "dq-compile-cache-entry 1";
constexpr const char *kEntryPrefix = "compile-";
constexpr const char *kEntrySuffix = ".entry";
/// No library is this large; a bigger "entry" is not read.
constexpr uint64_t kMaxEntryBytes = uint64_t(1) << 32;

/// The whole of a regular file, never through a symbolic link. Nothing when
/// it does not exist; `error` says what else went wrong.
std::optional<std::string> readRegularFile(const std::string &path,
                                           std::string &error,
                                           bool touch = false) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT)
      error = errno == ELOOP ? "it is a symbolic link"
                             : std::string("cannot open it: ") +
                                   std::strerror(errno);
    return std::nullopt;
  }
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    error = "it is not a regular file";
    ::close(fd);
    return std::nullopt;
  }
  if (static_cast<uint64_t>(info.st_size) > kMaxEntryBytes) {
    error = "it is larger than any entry (" + std::to_string(info.st_size) +
            " bytes)";
    ::close(fd);
    return std::nullopt;
  }
  std::string bytes(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    done += static_cast<size_t>(got);
  }
  bytes.resize(done);
  // Least recently used entries are pruned first.
  if (touch)
    (void)::futimens(fd, nullptr);
  ::close(fd);
  return bytes;
}

/// A decimal byte count as an entry writes it; nothing for anything else.
std::optional<uint64_t> parseCount(llvm::StringRef text) {
  if (text.empty() || text.size() > 19 || (text.size() > 1 && text[0] == '0') ||
      !llvm::all_of(text, llvm::isDigit))
    return std::nullopt;
  uint64_t value = 0;
  if (text.getAsInteger(10, value))
    return std::nullopt;
  return value;
}

/// Why `bytes` is not a sound entry for `key`, or nothing.
std::optional<std::string> checkEntry(llvm::StringRef bytes,
                                      llvm::StringRef key,
                                      llvm::StringRef signature,
                                      llvm::StringRef &library) {
  // The header: five lines, the last one empty.
  llvm::StringRef rest = bytes;
  llvm::StringRef lines[5];
  for (llvm::StringRef &line : lines) {
    size_t newline = rest.find('\n');
    if (newline == llvm::StringRef::npos || newline > 200)
      return std::string("not a dq-compile cache entry: the header is "
                         "incomplete");
    line = rest.take_front(newline);
    rest = rest.drop_front(newline + 1);
  }
  if (lines[0] != kEntryMagic)
    return std::string("not a dq-compile cache entry of this version");
  std::optional<uint64_t> keyBytes, libraryBytes;
  llvm::StringRef recordedHash;
  if (lines[1].consume_front("key-bytes "))
    keyBytes = parseCount(lines[1]);
  if (lines[2].consume_front("library-bytes "))
    libraryBytes = parseCount(lines[2]);
  if (lines[3].consume_front("library-sha256 "))
    recordedHash = lines[3];
  if (!keyBytes || !libraryBytes || *libraryBytes == 0 ||
      recordedHash.size() != 64 || !lines[4].empty())
    return std::string("the header is garbled");
  uint64_t expected = *keyBytes + *libraryBytes;
  if (rest.size() != expected)
    return (rest.size() < expected ? "truncated: " : "too long: ") +
           std::to_string(rest.size()) + " bytes after the header, the entry "
           "records " + std::to_string(expected);
  if (rest.take_front(*keyBytes) != key)
    return std::string("its key text is not this compile's");
  library = rest.drop_front(*keyBytes);
  if (sha256Hex(library) != recordedHash)
    return std::string("the library's SHA-256 is not the one the entry "
                       "records");
  if (!library.starts_with("\x7f" "ELF"))
    return std::string("the library is not an ELF file");
  if (library.find(signature) == llvm::StringRef::npos)
    return std::string("the library does not embed this module's signature");
  return std::nullopt;
}

struct LoadedObject {
  std::string path;
  std::string buildId; // lower-case hex; empty when there is none
};

int collectObject(struct dl_phdr_info *info, size_t, void *data) {
  auto &objects = *static_cast<std::vector<LoadedObject> *>(data);
  LoadedObject object;
  object.path = info->dlpi_name ? info->dlpi_name : "";
  // The first object is the executable (no name); the vDSO is the kernel's.
  if (!objects.empty() &&
      (object.path.empty() ||
       object.path.find("linux-vdso") != std::string::npos ||
       object.path.find("linux-gate") != std::string::npos))
    return 0;
  for (int i = 0; i < info->dlpi_phnum && object.buildId.empty(); ++i) {
    const ElfW(Phdr) &header = info->dlpi_phdr[i];
    if (header.p_type != PT_NOTE)
      continue;
    const char *note =
        reinterpret_cast<const char *>(info->dlpi_addr + header.p_vaddr);
    size_t left = header.p_memsz;
    while (left >= sizeof(ElfW(Nhdr))) {
      const auto *nhdr = reinterpret_cast<const ElfW(Nhdr) *>(note);
      size_t nameSize = (nhdr->n_namesz + 3) & ~size_t(3);
      size_t descSize = (nhdr->n_descsz + 3) & ~size_t(3);
      size_t size = sizeof(ElfW(Nhdr)) + nameSize + descSize;
      if (size > left)
        break;
      const char *name = note + sizeof(ElfW(Nhdr));
      if (nhdr->n_type == NT_GNU_BUILD_ID && nhdr->n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0) {
        object.buildId = llvm::toHex(
            llvm::ArrayRef<uint8_t>(
                reinterpret_cast<const uint8_t *>(name + nameSize),
                nhdr->n_descsz),
            /*LowerCase=*/true);
        break;
      }
      note += size;
      left -= size;
    }
  }
  objects.push_back(std::move(object));
  return 0;
}

std::string selfPath() {
  std::string self = llvm::sys::fs::getMainExecutable(
      nullptr, reinterpret_cast<void *>(&collectObject));
  llvm::StringRef deleted = " (deleted)";
  if (llvm::StringRef(self).ends_with(deleted))
    self.resize(self.size() - deleted.size());
  return self;
}

} // namespace

std::string sha256Hex(llvm::StringRef data) {
  return llvm::toHex(llvm::SHA256::hash(llvm::arrayRefFromStringRef(data)),
                     /*LowerCase=*/true);
}

std::string blake3Hex(llvm::StringRef data) {
  return llvm::toHex(llvm::BLAKE3::hash(llvm::arrayRefFromStringRef(data)),
                     /*LowerCase=*/true);
}

std::string fileContentIdentity(const std::string &path) {
  if (path.empty())
    return "missing";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return "missing";
  llvm::SHA256 hash;
  uint64_t total = 0;
  std::vector<uint8_t> chunk(1 << 16);
  for (;;) {
    ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      ::close(fd);
      return "unreadable";
    }
    if (got == 0)
      break;
    hash.update(llvm::ArrayRef<uint8_t>(chunk.data(), static_cast<size_t>(got)));
    total += static_cast<uint64_t>(got);
  }
  ::close(fd);
  return "sha256:" + llvm::toHex(hash.final(), /*LowerCase=*/true) +
         " bytes " + std::to_string(total);
}

std::string fileStatIdentity(const std::string &path) {
  struct stat info;
  if (path.empty() || ::stat(path.c_str(), &info) != 0)
    return "missing";
  llvm::SmallString<256> real;
  if (llvm::sys::fs::real_path(path, real))
    real = path;
  return std::string(real) + " bytes " + std::to_string(info.st_size) +
         " mtime " +
         std::to_string(static_cast<long long>(info.st_mtim.tv_sec) *
                            1000000000LL +
                        info.st_mtim.tv_nsec);
}

std::string processIdentity() {
  std::vector<LoadedObject> objects;
  dl_iterate_phdr(collectObject, &objects);
  std::string text;
  for (auto [i, object] : llvm::enumerate(objects)) {
    std::string path = i == 0 ? selfPath() : object.path;
    text += "object " + path;
    if (!object.buildId.empty())
      text += " build-id " + object.buildId;
    else if (i == 0)
      text += " " + fileContentIdentity(path);
    else
      text += " " + fileStatIdentity(path);
    text += "\n";
  }
  return text;
}

std::string defaultCacheDirectory() {
  auto absolute = [](const char *name) -> std::string {
    const char *value = std::getenv(name);
    return value && value[0] == '/' ? value : "";
  };
  std::string xdg = absolute("XDG_CACHE_HOME");
  if (!xdg.empty())
    return xdg + "/dq";
  std::string home = absolute("HOME");
  if (!home.empty())
    return home + "/.cache/dq";
  return "";
}

std::optional<CompileCache> CompileCache::open(const std::string &dir,
                                               std::string &why) {
  if (dir.empty()) {
    why = "no directory";
    return std::nullopt;
  }
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    // ENOTDIR: a parent is a file; creating the parents names it.
    if (errno != ENOENT && errno != ENOTDIR) {
      why = std::string("cannot check it: ") + std::strerror(errno);
      return std::nullopt;
    }
    try {
      std::string parent(llvm::sys::path::parent_path(path));
      if (!parent.empty())
        rt::createDirectories(parent);
    } catch (const std::exception &error) {
      why = error.what();
      return std::nullopt;
    }
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      why = std::string("cannot create it: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (::stat(path.c_str(), &info) != 0) {
      why = std::string("cannot check it: ") + std::strerror(errno);
      return std::nullopt;
    }
  }
  if (!S_ISDIR(info.st_mode)) {
    why = "it is not a directory";
    return std::nullopt;
  }
  // Entries are code this user will run: only a directory nobody else can
  // write to.
  if (info.st_uid != ::geteuid()) {
    why = "it belongs to another user";
    return std::nullopt;
  }
  if (info.st_mode & S_IWOTH) {
    why = "every user can write to it";
    return std::nullopt;
  }
  if (::access(path.c_str(), W_OK | X_OK) != 0) {
    why = std::string("it is not writable: ") + std::strerror(errno);
    return std::nullopt;
  }
  return CompileCache(path);
}

std::string CompileCache::entryPath(llvm::StringRef key) const {
  return dir_ + "/" + kEntryPrefix + sha256Hex(key).substr(0, 32) +
         kEntrySuffix;
}

std::optional<std::string>
CompileCache::lookup(llvm::StringRef key, llvm::StringRef signature,
                     llvm::raw_ostream &warnings) const {
  std::string path = entryPath(key);
  std::string error;
  std::optional<std::string> bytes =
      readRegularFile(path, error, /*touch=*/true);
  if (!bytes) {
    if (!error.empty())
      warnings << "dq-compile: cache entry " << path << " is damaged ("
               << error << "); recompiling\n";
    return std::nullopt;
  }
  llvm::StringRef library;
  if (std::optional<std::string> why =
          checkEntry(*bytes, key, signature, library)) {
    warnings << "dq-compile: cache entry " << path << " is damaged (" << *why
             << "); recompiling\n";
    return std::nullopt;
  }
  return library.str();
}

bool CompileCache::store(llvm::StringRef key, llvm::StringRef library,
                         llvm::StringRef signature,
                         llvm::raw_ostream &warnings) const {
  // What a lookup would call damaged is not stored.
  if (!library.starts_with("\x7f" "ELF") ||
      library.find(signature) == llvm::StringRef::npos)
    return false;
  std::string path = entryPath(key);
  std::string header = std::string(kEntryMagic) + "\nkey-bytes " +
                       std::to_string(key.size()) + "\nlibrary-bytes " +
                       std::to_string(library.size()) + "\nlibrary-sha256 " +
                       sha256Hex(library) + "\n\n";
  try {
    rt::AtomicFileWriter writer(path, 0600);
    writer.write(header.data(), header.size());
    writer.write(key.data(), key.size());
    writer.write(library.data(), library.size());
    writer.commit();
    return true;
  } catch (const std::exception &error) {
    warnings << "dq-compile: cannot store the cache entry (" << error.what()
             << "); the compile's outputs are complete\n";
    return false;
  }
}

void CompileCache::prune(uint64_t maxBytes) const {
  DIR *dir = ::opendir(dir_.c_str());
  if (!dir)
    return;
  struct Entry {
    struct timespec mtime;
    uint64_t bytes;
    std::string path;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  time_t now = std::time(nullptr);
  while (struct dirent *item = ::readdir(dir)) {
    llvm::StringRef name = item->d_name;
    bool entry = name.starts_with(kEntryPrefix) && name.ends_with(kEntrySuffix);
    // AtomicFileWriter's temporary files: ".<name>.tmp.<pid>...".
    bool temporary = name.starts_with(std::string(".") + kEntryPrefix) &&
                     name.contains(std::string(kEntrySuffix) + ".tmp.");
    if (!entry && !temporary)
      continue;
    std::string path = dir_ + "/" + name.str();
    struct stat info;
    if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
      continue;
    if (temporary) {
      if (now - info.st_mtim.tv_sec > 3600)
        ::unlink(path.c_str());
      continue;
    }
    entries.push_back({info.st_mtim, static_cast<uint64_t>(info.st_size), path});
    total += static_cast<uint64_t>(info.st_size);
  }
  ::closedir(dir);
  if (total <= maxBytes)
    return;
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec < b.mtime.tv_sec
                                            : a.mtime.tv_nsec < b.mtime.tv_nsec;
  });
  for (const Entry &entry : entries) {
    if (total <= maxBytes)
      break;
    if (::unlink(entry.path.c_str()) == 0)
      total -= entry.bytes;
  }
}

} // namespace dq::compile
