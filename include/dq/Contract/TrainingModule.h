//===- TrainingModule.h - the training module, read and checked -*- C++ -*-===//
//
// The one C++ view of a training module (docs/TrainingGraph.md): its state
// tensors (name, role, type) in order and its entry points
// @init_state() -> (state...), @train_step(state..., images, labels, lr,
// step) -> (state..., loss, correct), @predict(state..., images) ->
// logits and the optional @calibrate(state..., images, batches,
// iterations) -> (state...). The training-graph builder tags its functions with stateAttrs and
// checks what it built with readTrainingModule; dq-compile writes the
// manifest from the view; dq-verify-training-module runs the same checks.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_CONTRACT_TRAININGMODULE_H
#define DQ_CONTRACT_TRAININGMODULE_H

#include "dq/Contract/Roles.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir::dq {

using ::dq::contract::Role;

/// A role's name as the IR spells it.
inline StringRef roleNameRef(Role role) {
  std::string_view name = ::dq::contract::roleName(role);
  return StringRef(name.data(), name.size());
}

/// One state tensor.
struct StateTensor {
  std::string name;
  Role role;
  RankedTensorType type;
};

/// An entry point and where its state slots are.
struct EntryPoint {
  func::FuncOp func;
  bool takesState = false; // its first arguments are the state tensors
  bool givesState = false; // its first results are the state tensors
};

struct TrainingModule {
  SmallVector<StateTensor> state;
  func::FuncOp initState, trainStep, predict;
  /// Null when the module has no @calibrate (it is optional).
  func::FuncOp calibrate;
  /// @init_state, @train_step, @predict (and @calibrate): each with its
  /// state slots.
  SmallVector<EntryPoint, 4> entryPoints;
  /// The image batch @train_step and @predict take, and @predict's logits
  /// [batch x classes].
  RankedTensorType images, logits;
  /// Built with dq-build-training-graph data-parallel=true (the module
  /// attribute kDataParallelAttrName): @train_step all-reduces across the
  /// processes of a run.
  bool dataParallel = false;
};

/// The unit module attribute of a data-parallel training module.
inline constexpr char kDataParallelAttrName[] = "dq.data_parallel";

/// The i64 module attribute of a data-parallel training module built to
/// reproduce, in one process, the step of processes of this batch each
/// (dq-build-training-graph replica-batch; dq-block-batch-sums).
inline constexpr char kReplicaBatchAttrName[] = "dq.replica_batch";

/// The function names of the entry points.
inline constexpr char kInitStateName[] = "init_state";
inline constexpr char kTrainStepName[] = "train_step";
inline constexpr char kPredictName[] = "predict";
inline constexpr char kCalibrateName[] = "calibrate";

/// Reads the training module's view and checks the contract: the three
/// entry points with bodies, every state slot tagged with dq.state and
/// dq.role, the same state tensors (name, role, type) in the same order in
/// @init_state's results, @train_step's arguments and results and
/// @predict's arguments (and @calibrate's arguments and results, when there
/// is one), state names unique, and the other arguments and
/// results as docs/TrainingGraph.md lists them. On a mismatch, emits an
/// error naming the function and the argument or result (index and state
/// name) and fails.
FailureOr<TrainingModule> readTrainingModule(ModuleOp module);

/// {dq.state = name, dq.role = role}, the tags of a state slot.
DictionaryAttr stateAttrs(MLIRContext *context, StringRef name, Role role);

} // namespace mlir::dq

#endif // DQ_CONTRACT_TRAININGMODULE_H
