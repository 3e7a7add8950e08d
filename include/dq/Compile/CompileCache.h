//===- CompileCache.h - dq-compile's cache of compiled libraries -*- C++ -*-===//
//
// A directory of entries, one file each: `compile-<32 hex>.entry`, named by
// the SHA-256 of a key text (everything the library depends on:
// docs/Runtime.md, "Compile cache"), holding that key text and the library.
// Entries are written atomically (a temporary file in the directory, then a
// rename) under the runtime's output-file policy; a lookup checks every
// entry completely (format, sizes, the whole key text, the library's
// SHA-256, the module's signature in it) before it is used, and reports
// anything else as damage.
//
//===----------------------------------------------------------------------===//
#ifndef DQ_COMPILE_COMPILECACHE_H
#define DQ_COMPILE_COMPILECACHE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace dq::compile {

/// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(llvm::StringRef data);

/// Lower-case hex BLAKE3 (256 bits) of `data`: for the printed module in
/// the key, tens of megabytes for a large model, where SHA-256 took a
/// third of a cached compile.
std::string blake3Hex(llvm::StringRef data);

/// "sha256:<hex> bytes <n>" of a file's contents, or "missing" when it
/// cannot be read (for files small enough to hash on every compile).
std::string fileContentIdentity(const std::string &path);

/// "<real path> bytes <n> mtime <ns>" of a file (for large programs such as
/// the linker driver), or "missing".
std::string fileStatIdentity(const std::string &path);

/// One line per object loaded into this process (the executable first,
/// then every shared library, the vDSO left out): "object <path> build-id
/// <hex>", or, without a GNU build id, the executable's size and SHA-256
/// and a library's size and mtime. A rebuilt dq-compile, MLIR or LLVM
/// changes these lines.
std::string processIdentity();

/// The cache directory when none is given: $XDG_CACHE_HOME/dq, else
/// $HOME/.cache/dq (absolute paths only); empty when neither is set.
std::string defaultCacheDirectory();

class CompileCache {
public:
  /// Opens (creating it, mode 0700, when missing) the cache in `dir`.
  /// Nothing when it cannot be used (not a directory, not writable, owned
  /// by another user or writable by everyone); `why` then says why.
  static std::optional<CompileCache> open(const std::string &dir,
                                          std::string &why);

  const std::string &directory() const { return dir_; }
  /// The entry file of `key`.
  std::string entryPath(llvm::StringRef key) const;

  /// The library of `key`'s entry when there is a sound one; its
  /// modification time is set to now (least recently used entries go
  /// first). A missing entry is a plain miss; a damaged one (anything that
  /// does not check out, `signature` not in the library included) is
  /// reported on `warnings` and is a miss, replaced by the next store.
  std::optional<std::string> lookup(llvm::StringRef key,
                                    llvm::StringRef signature,
                                    llvm::raw_ostream &warnings) const;

  /// Writes `key`'s entry atomically (mode 0600), unless `library` is not
  /// an ELF file embedding `signature` (a lookup would refuse it). A
  /// failure is a warning, not an error: the compile has its result either
  /// way. True when the entry was written.
  bool store(llvm::StringRef key, llvm::StringRef library,
             llvm::StringRef signature, llvm::raw_ostream &warnings) const;

  /// Removes the least recently used entries until the entries take at
  /// most `maxBytes`, and temporary files of writers that died (older than
  /// an hour). Best effort; never fails.
  void prune(uint64_t maxBytes) const;

private:
  explicit CompileCache(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

} // namespace dq::compile

#endif // DQ_COMPILE_COMPILECACHE_H
