// State files and checkpoints (docs/Runtime.md): every state tensor of a
// model plus JSON metadata, checksummed and written atomically.
#ifndef DQ_RUNTIME_STATEFILE_H
#define DQ_RUNTIME_STATEFILE_H

#include "dq/runtime/Files.h"
#include "dq/runtime/Manifest.h"
#include "dq/runtime/Tensor.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dq {
namespace runtime {

inline constexpr char kStateFileMagic[8] = {'D', 'Q', 'S', 'T',
                                            'A', 'T', 'E', '\0'};
inline constexpr uint32_t kStateFileVersion = 1;
/// Bytes before the metadata: magic, version, flags, hash, count, metadata
/// size.
inline constexpr size_t kStateFileHeaderSize = 32;

/// CRC-32 (IEEE 802.3, as zlib and gzip compute it). Pass the previous
/// result as `crc` to continue over more data.
uint32_t crc32Ieee(const void *data, size_t size, uint32_t crc = 0);

/// Writes a state file atomically. `metadataJson` must be a JSON object
/// ("{}" for an initial state); every tensor's data must match its spec.
void writeStateFile(const std::string &path, uint64_t manifestHash,
                    const std::vector<HostTensor> &tensors,
                    const std::string &metadataJson = "{}");

struct StateFileContents {
  uint64_t manifestHash = 0;
  std::string metadataJson;
  /// In file order; specs have no role (state files do not store roles).
  std::vector<HostTensor> tensors;
};

/// Reads a state file and checks its structure and every checksum. Throws
/// Error naming the file and the field or tensor that is wrong.
StateFileContents readStateFile(const std::string &path);

/// One value of a state that breaks the manifest's contract.
struct StateValueProblem {
  std::string tensor;
  std::string what; ///< "3 non-finite values (the first at element 17)"
  /// True when compiled code would read out of bounds with it (a code
  /// >= 2^K indexes past its levels); such a state is never run.
  bool unsafe = false;
};

/// The values of `state` (the manifest's tensors, in order) that break its
/// contract: every codes tensor below 2^K as unsigned bytes (K from its
/// basis), every f32 tensor finite, every running variance >= 0.
std::vector<StateValueProblem>
findStateValueProblems(const std::vector<HostTensor> &state,
                       const Manifest &manifest);

/// Throws Error naming `path` and the problems (at most a few) unless
/// `state`'s values keep the contract. With `allowInvalidValues`, problems
/// that only make the numbers wrong (non-finite values, negative variances)
/// are printed to stderr as warnings instead, for inspecting a damaged
/// state; unsafe ones always throw.
void checkStateValues(const std::vector<HostTensor> &state,
                      const Manifest &manifest, const std::string &path,
                      bool allowInvalidValues = false);

/// readStateFile, then checks the file against `manifest`: its hash, the
/// names, order, dtypes and shapes of the tensors, and their values
/// (checkStateValues). Returns the tensors with the manifest's roles;
/// stores the metadata in `*metadataJson` when given.
std::vector<HostTensor> readStateFileFor(const std::string &path,
                                         const Manifest &manifest,
                                         std::string *metadataJson = nullptr,
                                         bool allowInvalidValues = false);

/// The checks of readStateFileFor on contents already read from `path`.
std::vector<HostTensor> stateForManifest(StateFileContents contents,
                                         const std::string &path,
                                         const Manifest &manifest,
                                         std::string *metadataJson = nullptr);

/// Throws Error naming `path` when `fileHash` is not the manifest's hash;
/// `kind` says what the file is ("state file", "export").
void checkManifestHash(const std::string &path, uint64_t fileHash,
                       const Manifest &manifest, const std::string &kind);

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_STATEFILE_H
