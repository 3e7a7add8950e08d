//===- TrainingModule.cpp - the training module, read and checked ---------===//

#include "dq/Contract/TrainingModule.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::dq;

namespace contract = ::dq::contract;

DictionaryAttr mlir::dq::stateAttrs(MLIRContext *context, StringRef name,
                                    Role role) {
  Builder b(context);
  return b.getDictionaryAttr(
      {b.getNamedAttr(contract::kStateAttr, b.getStringAttr(name)),
       b.getNamedAttr(contract::kRoleAttr,
                      b.getStringAttr(roleNameRef(role)))});
}

namespace {

/// An argument or result of an entry point.
struct Slot {
  mutable func::FuncOp func; // op handles have no const accessors
  bool isResult;
  unsigned index;

  DictionaryAttr attrs() const {
    return isResult ? func.getResultAttrDict(index)
                    : func.getArgAttrDict(index);
  }
  StringAttr stateName() const {
    DictionaryAttr dict = attrs();
    return dict ? dict.getAs<StringAttr>(contract::kStateAttr) : StringAttr();
  }
  StringAttr roleText() const {
    DictionaryAttr dict = attrs();
    return dict ? dict.getAs<StringAttr>(contract::kRoleAttr) : StringAttr();
  }
  Type type() const {
    return isResult ? func.getResultTypes()[index]
                    : func.getArgumentTypes()[index];
  }
  /// `@predict argument 2 ('fc.weight')`, as the dialect's attribute
  /// verifier says it.
  std::string describe() const {
    std::string text = ("@" + func.getName() + " " +
                        (isResult ? "result " : "argument ") + Twine(index))
                           .str();
    if (StringAttr name = stateName())
      text += " ('" + name.str() + "')";
    return text;
  }
  /// At the argument's line where there is one (not the function: as a note
  /// it would print the whole function).
  InFlightDiagnostic error() const {
    Location loc = isResult || func.isExternal()
                       ? func.getLoc()
                       : func.getArgument(index).getLoc();
    return mlir::emitError(loc) << describe() << ": ";
  }
};

class Reader {
public:
  explicit Reader(ModuleOp module) : module(module) {}
  FailureOr<TrainingModule> read();

private:
  func::FuncOp entry(StringRef name);
  LogicalResult readState();
  LogicalResult checkState(const Slot &slot, const StateTensor &expected);
  LogicalResult checkCounts(func::FuncOp func, bool isResult, unsigned count,
                            StringRef rest);
  LogicalResult checkNotState(const Slot &slot, StringRef what);
  LogicalResult checkType(const Slot &slot, StringRef what, Type expected);

  ModuleOp module;
  TrainingModule view;
};

} // namespace

func::FuncOp Reader::entry(StringRef name) {
  auto func = module.lookupSymbol<func::FuncOp>(name);
  if (!func || func.isExternal()) {
    mlir::emitError(module.getLoc())
        << "training module: no @" << name
        << " with a body (the module of --dq-build-training-graph has "
           "@init_state, @train_step and @predict)";
    return {};
  }
  return func;
}

LogicalResult Reader::readState() {
  func::FuncOp init = view.initState;
  if (init.getNumArguments() != 0)
    return mlir::emitError(init.getLoc())
           << "@" << kInitStateName << " takes no arguments, it has "
           << init.getNumArguments();
  llvm::StringMap<unsigned> seen;
  for (unsigned i = 0, e = init.getNumResults(); i < e; ++i) {
    Slot slot{init, /*isResult=*/true, i};
    StringAttr name = slot.stateName(), roleText = slot.roleText();
    if (!name || name.getValue().empty())
      return slot.error() << "a state tensor needs " << contract::kStateAttr
                          << " (its name)";
    if (!roleText)
      return slot.error() << "a state tensor needs " << contract::kRoleAttr;
    std::optional<Role> role = contract::roleFromName(roleText.str());
    if (!role)
      return slot.error() << contract::kRoleAttr << " '" << roleText.getValue()
                          << "' is not a role";
    auto type = dyn_cast<RankedTensorType>(slot.type());
    bool wantI8 = contract::elementTypeOf(*role) == contract::ElementType::I8;
    if (!type || !type.hasStaticShape() ||
        !(wantI8 ? type.getElementType().isInteger(8)
                 : type.getElementType().isF32()))
      return slot.error() << "role '" << roleText.getValue()
                          << "' needs a static tensor of "
                          << (wantI8 ? "i8" : "f32") << ", got "
                          << slot.type();
    auto [it, inserted] = seen.try_emplace(name.getValue(), i);
    if (!inserted)
      return slot.error() << "the state name '" << name.getValue()
                          << "' is also result " << it->second
                          << "'s (state names are unique)";
    view.state.push_back({name.str(), *role, type});
  }
  return success();
}

LogicalResult Reader::checkState(const Slot &slot,
                                 const StateTensor &expected) {
  unsigned i = slot.index;
  StringAttr name = slot.stateName(), roleText = slot.roleText();
  auto expectedText = [&]() {
    return ("the state tensor '" + expected.name + "' of @" +
            Twine(kInitStateName) + " result " + Twine(i))
        .str();
  };
  if (!name)
    return slot.error() << "expected " << expectedText() << ", which is "
                        << "tagged with " << contract::kStateAttr
                        << " there (every entry point has @"
                        << kInitStateName << "'s state tensors, in its order)";
  if (name.getValue() != expected.name)
    return slot.error() << "expected " << expectedText()
                        << " (every entry point has @" << kInitStateName
                        << "'s state tensors, in its order)";
  if (!roleText || roleText.getValue() != roleNameRef(expected.role))
    return slot.error() << "has role '"
                        << (roleText ? roleText.getValue() : "")
                        << "' where " << expectedText() << " has '"
                        << roleNameRef(expected.role) << "'";
  if (slot.type() != expected.type)
    return slot.error() << "is " << slot.type() << " where "
                        << expectedText() << " is " << expected.type;
  return success();
}

LogicalResult Reader::checkCounts(func::FuncOp func, bool isResult,
                                  unsigned count, StringRef rest) {
  unsigned have = isResult ? func.getNumResults() : func.getNumArguments();
  if (have == view.state.size() + count)
    return success();
  return mlir::emitError(func.getLoc())
         << "@" << func.getName() << " has " << have
         << (isResult ? " results" : " arguments") << ", expected the "
         << view.state.size() << " state tensors of @" << kInitStateName
         << " and " << rest;
}

LogicalResult Reader::checkNotState(const Slot &slot, StringRef what) {
  if (slot.stateName() || slot.roleText())
    return slot.error() << "is the " << what << ", not a state tensor, but is "
                        << "tagged as one";
  return success();
}

LogicalResult Reader::checkType(const Slot &slot, StringRef what,
                                Type expected) {
  if (failed(checkNotState(slot, what)))
    return failure();
  if (slot.type() != expected)
    return slot.error() << "the " << what << " must be " << expected
                        << ", got " << slot.type();
  return success();
}

FailureOr<TrainingModule> Reader::read() {
  view.initState = entry(kInitStateName);
  view.trainStep = entry(kTrainStepName);
  view.predict = entry(kPredictName);
  if (!view.initState || !view.trainStep || !view.predict)
    return failure();
  if (failed(readState()))
    return failure();
  unsigned n = view.state.size();
  func::FuncOp train = view.trainStep, predict = view.predict;
  MLIRContext *ctx = module.getContext();
  Builder b(ctx);

  // @train_step(state..., images, labels, lr, step) -> (state..., loss,
  // correct)
  if (failed(checkCounts(train, false, 4, "images, labels, lr and step")) ||
      failed(checkCounts(train, true, 2, "the loss and the correct count")))
    return failure();
  for (unsigned i = 0; i < n; ++i)
    if (failed(checkState({train, false, i}, view.state[i])) ||
        failed(checkState({train, true, i}, view.state[i])))
      return failure();
  Slot imagesSlot{train, false, n};
  if (failed(checkNotState(imagesSlot, "images")))
    return failure();
  view.images = dyn_cast<RankedTensorType>(imagesSlot.type());
  if (!view.images || !view.images.hasStaticShape() ||
      view.images.getRank() < 2 || !view.images.getElementType().isF32())
    return imagesSlot.error()
           << "the images must be a static f32 tensor [N, ...], got "
           << imagesSlot.type();
  int64_t batch = view.images.getDimSize(0);
  if (failed(checkType({train, false, n + 1}, "labels",
                       RankedTensorType::get({batch}, b.getI32Type()))) ||
      failed(checkType({train, false, n + 2}, "learning rate",
                       b.getF32Type())) ||
      failed(checkType({train, false, n + 3}, "step", b.getI64Type())) ||
      failed(checkType({train, true, n}, "loss",
                       RankedTensorType::get({}, b.getF32Type()))) ||
      failed(checkType({train, true, n + 1}, "correct count",
                       RankedTensorType::get({}, b.getI32Type()))))
    return failure();

  // @predict(state..., images) -> logits
  if (failed(checkCounts(predict, false, 1, "the images")))
    return failure();
  for (unsigned i = 0; i < n; ++i)
    if (failed(checkState({predict, false, i}, view.state[i])))
      return failure();
  if (failed(checkType({predict, false, n}, "images", view.images)))
    return failure();
  if (predict.getNumResults() != 1)
    return mlir::emitError(predict.getLoc())
           << "@" << kPredictName << " has " << predict.getNumResults()
           << " results, expected the logits";
  Slot logitsSlot{predict, true, 0};
  if (failed(checkNotState(logitsSlot, "logits")))
    return failure();
  view.logits = dyn_cast<RankedTensorType>(logitsSlot.type());
  if (!view.logits || !view.logits.hasStaticShape() ||
      view.logits.getRank() != 2 || view.logits.getDimSize(0) != batch ||
      !view.logits.getElementType().isF32())
    return logitsSlot.error() << "the logits must be tensor<" << batch
                              << "xKxf32>, got " << logitsSlot.type();

  view.dataParallel = module->hasAttr(kDataParallelAttrName);
  view.entryPoints = {{view.initState, false, true},
                      {train, true, true},
                      {predict, true, false}};

  // @calibrate(state..., images, batches, iterations) -> (state...),
  // optional.
  if (Operation *symbol = module.lookupSymbol(kCalibrateName)) {
    auto calibrate = dyn_cast<func::FuncOp>(symbol);
    if (!calibrate || calibrate.isExternal())
      return mlir::emitError(symbol->getLoc())
             << "@" << kCalibrateName
             << " must be a func.func with a body (or absent)";
    if (failed(checkCounts(calibrate, false, 3,
                           "the images, the batch count and the iteration "
                           "count")) ||
        failed(checkCounts(calibrate, true, 0, "nothing else")))
      return failure();
    for (unsigned i = 0; i < n; ++i)
      if (failed(checkState({calibrate, false, i}, view.state[i])) ||
          failed(checkState({calibrate, true, i}, view.state[i])))
        return failure();
    if (failed(checkType({calibrate, false, n}, "images", view.images)) ||
        failed(checkType({calibrate, false, n + 1}, "batch count",
                         b.getI64Type())) ||
        failed(checkType({calibrate, false, n + 2}, "iteration count",
                         b.getI64Type())))
      return failure();
    view.calibrate = calibrate;
    view.entryPoints.push_back({calibrate, true, true});
  }
  return view;
}

FailureOr<TrainingModule> mlir::dq::readTrainingModule(ModuleOp module) {
  return Reader(module).read();
}
