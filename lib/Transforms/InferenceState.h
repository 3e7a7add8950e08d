//===- InferenceState.h - trained state for the inference graph -*- C++ -*-===//
//
// The bridge between dq-build-inference-graph (built without exceptions,
// like all MLIR code) and the runtime's state readers (which report errors
// with exceptions): plain types in, an error message out.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_LIB_TRANSFORMS_INFERENCESTATE_H
#define DQ_LIB_TRANSFORMS_INFERENCESTATE_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::dq {

/// One state tensor of the training module (an @init_state result).
struct StateTensorInfo {
  std::string name, role;
  /// "f32", "i8", "i32" or "i64".
  std::string dtype;
  std::vector<int64_t> shape;
};

/// Reads the trained state `path` (a state file, a checkpoint or an export)
/// of the training module with hash `moduleHash` and state `tensors`, with
/// every check of the runtime (checksums, hash, names, shapes, values).
/// Fills `data` with each tensor's bytes in order; returns an error message
/// naming the file on failure.
std::optional<std::string>
readTrainedState(const std::string &path, uint64_t moduleHash,
                 const std::vector<StateTensorInfo> &tensors,
                 std::vector<std::vector<char>> &data);

/// Reads the manifest `manifestPath` of a compiled training model and a
/// trained state of it, `statePath` (a state file, a checkpoint or an
/// export), with every check of the runtime. Fills `tensors` with the
/// manifest's state tensors and `data` with their bytes, in order; returns
/// an error message naming the file on failure.
std::optional<std::string>
readStateOfModel(const std::string &manifestPath, const std::string &statePath,
                 std::vector<StateTensorInfo> &tensors,
                 std::vector<std::vector<char>> &data);

/// 64-bit FNV-1a, the module hash of dq-compile's manifests.
uint64_t moduleTextHash(const std::string &text);

} // namespace mlir::dq

#endif // DQ_LIB_TRANSFORMS_INFERENCESTATE_H
