// The manifest of a compiled model (docs/Runtime.md): its state tensors, its
// entry points and the hash of the module it was compiled from.
#ifndef DQ_RUNTIME_MANIFEST_H
#define DQ_RUNTIME_MANIFEST_H

#include "dq/runtime/Preprocess.h"
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
inline constexpr int64_t kManifestVersion = 2;
/// The symbol under which a compiled library embeds its signature
/// (modelSignature), a NUL-terminated string.
inline constexpr const char *kModelSignatureSymbol = "dq_model_signature";
/// What a compiled model is for (Manifest::kind): "training" (train_step,
/// predict and init_state over a state) or "inference" (predict only, the
/// trained tensors compiled in as constants, no state).
inline constexpr const char *kTrainingKind = "training";
inline constexpr const char *kInferenceKind = "inference";
/// "kernels": a library of plain functions on tensors and scalars (test
/// harnesses, gradient checks): every public function of the module is an
/// entry point, called through CompiledModel::call; no state, batch, image
/// shape or classes.
inline constexpr const char *kKernelsKind = "kernels";

inline constexpr uint64_t kFnv1a64Basis = 0xcbf29ce484222325ULL;
/// 64-bit FNV-1a; dq-compile hashes the printed training module with it.
/// Pass the previous result as `hash` to continue over more data.
uint64_t fnv1a64(const void *data, size_t size, uint64_t hash = kFnv1a64Basis);
/// "fnv1a64:0123456789abcdef" (16 lower-case hex digits).
std::string formatModuleHash(uint64_t hash);
/// The inverse of formatModuleHash; nothing for any other text (upper-case
/// digits included, so the text form of a hash is unique).
std::optional<uint64_t> parseModuleHash(const std::string &text);

/// One argument or result of an entry point: a tensor ("arg0 f32[2,3]",
/// rank 0 "f32[]") or a scalar passed by value ("arg1 f32", no brackets).
struct EntryValue {
  TensorSpec spec;
  bool scalar = false;
};
/// The manifest's text of `value`, and its inverse (nothing for other text).
std::string formatEntryValue(const EntryValue &value);
std::optional<EntryValue> parseEntryValue(const std::string &text);

/// A function of the compiled library. `inputs`/`outputs` are the
/// human-readable signature strings of the manifest ("images f32[128,...]");
/// in a kernels manifest each is an EntryValue's text, parsed into
/// `inputValues`/`outputValues`.
struct EntryPoint {
  std::string symbol;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<EntryValue> inputValues, outputValues;
};

/// The compiled library a manifest describes: its size and content hash,
/// checked before the library is loaded.
struct LibraryFacts {
  uint64_t bytes = 0;
  uint64_t hash = 0; ///< fnv1a64 of the file's bytes
};

struct Manifest {
  /// kTrainingKind, kInferenceKind or kKernelsKind. Optional in the file;
  /// absent means "training" (manifests from before the field).
  std::string kind = kTrainingKind;
  uint64_t moduleHash = 0;
  LibraryFacts library;
  int64_t batch = 0;
  std::vector<int64_t> imageShape;
  int64_t classes = 0;
  /// Where the compiled code runs: "cpu" or "cuda" (dq-compile --target).
  /// Optional in the file; absent means "cpu".
  std::string device = "cpu";
  /// train_step all-reduces across the processes of a run (dq-build-
  /// training-graph data-parallel=true; dq-train under mpirun). Optional
  /// in the file (written only when true); absent means false.
  bool dataParallel = false;
  /// How images are made from pixels (Preprocess.h), as dq-compile recorded
  /// it; nothing in a manifest from before the field (effectivePreprocess
  /// then gives what the tools applied before). Not part of the library's
  /// signature: it changes what the drivers feed, not the compiled code.
  std::optional<Preprocess> preprocess;
  /// In the order train_step takes and returns them and state files store them.
  /// Empty for an inference model.
  std::vector<TensorSpec> state;
  /// At least requiredEntryPoints(kind).
  std::map<std::string, EntryPoint> entryPoints;

  /// The state tensor called `name`, or null.
  const TensorSpec *findState(const std::string &name) const;
  /// kind == kInferenceKind.
  bool isInference() const { return kind == kInferenceKind; }
  /// kind == kKernelsKind.
  bool isKernels() const { return kind == kKernelsKind; }
};

/// The preprocessing dq-train and dq-run apply for `manifest`: the recorded
/// one, else legacyPreprocess of its image shape.
Preprocess effectivePreprocess(const Manifest &manifest);

/// The contract a compiled library was built for, as the canonical JSON text
/// dq-compile embeds in the library (kModelSignatureSymbol): module hash,
/// batch, image shape, classes, device, every state tensor (name, role,
/// dtype, shape) and every entry point's symbol, and the kind when it is not
/// "training" (so a training library's signature is what it was before the
/// kind existed). Not the library facts.
std::string modelSignature(const Manifest &manifest);

/// Empty when `librarySignature` (what a library embeds) is
/// modelSignature(manifest); else the first difference, in words
/// ("batch: the library was compiled for 128, the manifest says 64").
std::string compareModelSignature(const std::string &librarySignature,
                                  const Manifest &manifest);

/// The size and fnv1a64 hash of a file's bytes; throws Error naming it.
LibraryFacts libraryFactsOf(const std::string &path);

/// The entry points every manifest of `kind` has: train_step, predict and
/// init_state for "training", predict for "inference". Throws Error for
/// another kind.
const std::vector<std::string> &requiredEntryPoints(const std::string &kind);

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
