// The manifest of a compiled model (docs/Runtime.md): its state tensors, its
// entry points and the hash of the module it was compiled from.
#ifndef DQ_RUNTIME_MANIFEST_H
#define DQ_RUNTIME_MANIFEST_H

#include "dq/runtime/Tensor.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dq {
namespace runtime {

inline constexpr const char *kManifestFormat = "dq-manifest";
inline constexpr int64_t kManifestVersion = 1;

/// 64-bit FNV-1a; dq-compile hashes the printed training module with it.
uint64_t fnv1a64(const void *data, size_t size);
/// "fnv1a64:0123456789abcdef" (16 lower-case hex digits).
std::string formatModuleHash(uint64_t hash);
/// The inverse of formatModuleHash; nothing for any other text (upper-case
/// digits included, so the text form of a hash is unique).
std::optional<uint64_t> parseModuleHash(const std::string &text);

/// A function of the compiled library. `inputs`/`outputs` are the
/// human-readable signature strings of the manifest ("images f32[128,...]").
struct EntryPoint {
  std::string symbol;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

struct Manifest {
  uint64_t moduleHash = 0;
  int64_t batch = 0;
  std::vector<int64_t> imageShape;
  int64_t classes = 0;
  /// Where the compiled code runs: "cpu" or "cuda" (dq-compile --target).
  /// Optional in the file; absent means "cpu".
  std::string device = "cpu";
  /// In the order train_step takes and returns them and state files store them.
  std::vector<TensorSpec> state;
  /// At least train_step, predict and init_state.
  std::map<std::string, EntryPoint> entryPoints;

  /// The state tensor called `name`, or null.
  const TensorSpec *findState(const std::string &name) const;
};

/// The entry points every manifest has.
const std::vector<std::string> &requiredEntryPoints();

/// Reads and validates a manifest file. Throws Error naming the file and the
/// field ("m.manifest.json: state[3].shape: expected ...").
Manifest loadManifest(const std::string &path);
/// Parses and validates manifest JSON text; `source` names it in errors.
Manifest parseManifest(const std::string &jsonText, const std::string &source);
/// The manifest as JSON text, fields in the documented order.
std::string toJson(const Manifest &manifest);
/// Validates `manifest` and writes it atomically (see writeFileAtomic).
void writeManifest(const std::string &path, const Manifest &manifest);

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_MANIFEST_H
