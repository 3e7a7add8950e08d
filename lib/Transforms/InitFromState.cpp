//===- InitFromState.cpp - dq-init-from-state -----------------------------===//
//
// A model's trainable constants set to a dq-trained state of the same
// network, matched by the names the training graph gives them, so that a
// quantized run can start from an fp32 run (docs/Design.md).
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "InferenceState.h"
#include "dialects/dq/DQOps.h"
#include "dq/Contract/Layers.h"
#include "dq/Contract/Roles.h"
#include "dq/Support/Checks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQINITFROMSTATE
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;
using namespace mlir::dq;

namespace {

/// A trainable constant of the model: the operand and its state name.
struct Trainable {
  Operation *op;
  unsigned operand;
  std::string name;
};

/// The trainable constants in the training graph's order and naming
/// (BuildTrainingGraph's collectState): layer weights and biases, constant
/// bias sites (tosa.add and its linalg forms), batch norm's four
/// per-channel tensors.
SmallVector<Trainable> trainables(FunctionOpInterface func) {
  SmallVector<Trainable> found;
  LayerNamer names;
  auto isF32Constant = [](Value v) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    return type && type.getElementType().isF32() &&
           matchPattern(v, m_Constant());
  };
  auto add = [&](Operation *op, unsigned operand, StringRef what,
                 Operation *namedBy = nullptr) {
    if (isF32Constant(op->getOperand(operand)))
      found.push_back(
          {op, operand, names.nameOf(namedBy ? namedBy : op) + "." + what.str()});
  };
  func.walk([&](Operation *op) {
    if (std::optional<LayerOpInfo> layer = layerOpInfo(op)) {
      add(op, layer->weightOperand, "weight");
      if (layer->biasOperand)
        add(op, *layer->biasOperand, "bias");
    } else if (std::optional<BiasSite> site = biasSiteOf(op)) {
      for (unsigned i : site->operands)
        add(op, i, "bias", site->namedBy);
    } else if (isa<BatchNormOp>(op)) {
      add(op, 1, "gamma");
      add(op, 2, "beta");
      add(op, 3, "running_mean");
      add(op, 4, "running_var");
    }
  });
  return found;
}

struct InitFromStatePass
    : public mlir::dq::impl::DQInitFromStateBase<InitFromStatePass> {
  using DQInitFromStateBase::DQInitFromStateBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto error = [&]() {
      return emitError(module.getLoc()) << "dq-init-from-state: ";
    };
    if (manifest.empty() || statePath.empty()) {
      error() << "needs manifest=<MODEL.manifest.json> and state=<file> (the "
                 "compiled fp32 training model and its trained state)";
      return signalPassFailure();
    }
    FailureOr<FunctionOpInterface> func =
        selectFunction(module, funcName, "dq-init-from-state", "model");
    if (failed(func))
      return signalPassFailure();

    std::vector<StateTensorInfo> infos;
    std::vector<std::vector<char>> data;
    if (std::optional<std::string> why =
            readStateOfModel(manifest, statePath, infos, data)) {
      error() << *why;
      return signalPassFailure();
    }
    llvm::StringMap<unsigned> byName;
    for (auto [i, info] : llvm::enumerate(infos)) {
      if (info.role == ::dq::contract::roleName(::dq::contract::Role::Codes)) {
        error() << statePath << " is the state of a quantized model ('"
                << info.name
                << "' holds codes); start from the state of the fp32 model";
        return signalPassFailure();
      }
      byName[info.name] = i;
    }

    llvm::StringMap<bool> used;
    for (const Trainable &t : trainables(*func)) {
      auto it = byName.find(t.name);
      if (it == byName.end()) {
        t.op->emitError() << "dq-init-from-state: " << statePath
                          << " has no tensor '" << t.name
                          << "' (a state of another network?)";
        return signalPassFailure();
      }
      const StateTensorInfo &info = infos[it->second];
      auto type = cast<RankedTensorType>(t.op->getOperand(t.operand).getType());
      ArrayRef<char> raw(data[it->second].data(), data[it->second].size());
      bool splat = false;
      if (info.dtype != "f32" || ArrayRef<int64_t>(info.shape) != type.getShape() ||
          !DenseElementsAttr::isValidRawBuffer(type, raw, splat)) {
        std::string shape;
        for (int64_t d : info.shape)
          shape += (shape.empty() ? "" : "x") + std::to_string(d);
        t.op->emitError() << "dq-init-from-state: '" << t.name << "' is "
                          << info.dtype << "[" << shape << "] in "
                          << statePath << ", the model's is " << type;
        return signalPassFailure();
      }
      OpBuilder b(t.op);
      Value value = arith::ConstantOp::create(
          b, t.op->getLoc(), type, DenseElementsAttr::getFromRawBuffer(type, raw));
      t.op->setOperand(t.operand, value);
      used[t.name] = true;
    }
    // A trained tensor nothing took: the state is of another network.
    for (const StateTensorInfo &info : infos) {
      bool trained =
          info.role == ::dq::contract::roleName(::dq::contract::Role::Param) ||
          info.role ==
              ::dq::contract::roleName(::dq::contract::Role::RunningMean) ||
          info.role ==
              ::dq::contract::roleName(::dq::contract::Role::RunningVar);
      if (trained && !used.count(info.name)) {
        error() << statePath << ": the model has no trainable constant for '"
                << info.name << "' (a state of another network?)";
        return signalPassFailure();
      }
    }
  }
};

} // namespace
