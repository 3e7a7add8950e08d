//===- Autodiff.cpp - reverse-mode differentiation of a block -------------===//

#include "dq/Training/Autodiff.h"

#include "dq/Interfaces/GradientOpInterface.h"
#include "dq/Interfaces/TensorMath.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::dq;

/// Values that depend on `inputs` (forward) and values `outputs` depend on
/// (backward) within `block`; an op is active when it is on both paths.
static llvm::DenseSet<Value> dependents(Block &block, ValueRange inputs) {
  llvm::DenseSet<Value> reached(inputs.begin(), inputs.end());
  for (Operation &op : block) {
    bool touched = llvm::any_of(op.getOperands(), [&](Value operand) {
      return reached.contains(operand);
    });
    if (touched)
      reached.insert(op.getResults().begin(), op.getResults().end());
  }
  return reached;
}

static llvm::DenseSet<Operation *> producers(Block &block, ValueRange outputs) {
  llvm::DenseSet<Operation *> needed;
  SmallVector<Value> worklist(outputs.begin(), outputs.end());
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val().getDefiningOp();
    if (!op || op->getBlock() != &block || !needed.insert(op).second)
      continue;
    worklist.append(op->getOperands().begin(), op->getOperands().end());
  }
  return needed;
}

FailureOr<SmallVector<Value>>
mlir::dq::buildReverseMode(OpBuilder &builder, Block &block, ValueRange outputs,
                           ValueRange outputGrads, ValueRange inputs) {
  llvm::DenseSet<Value> active = dependents(block, inputs);
  llvm::DenseSet<Operation *> onPath = producers(block, outputs);

  llvm::DenseMap<Value, Value> grads;
  auto accumulate = [&](Value value, Value grad) {
    Value &slot = grads[value];
    Location loc = value.getLoc();
    slot = slot ? tensormath::add(builder, loc, slot, grad) : grad;
  };
  for (auto [output, grad] : llvm::zip(outputs, outputGrads))
    accumulate(output, grad);

  SmallVector<Operation *> ops;
  for (Operation &op : block)
    if (onPath.contains(&op) && llvm::any_of(op.getResults(), [&](Value r) {
          return active.contains(r);
        }))
      ops.push_back(&op);

  for (Operation *op : llvm::reverse(ops)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value result : op->getResults()) {
      resultGrads.push_back(grads.lookup(result));
      any |= static_cast<bool>(resultGrads.back());
    }
    if (!any)
      continue;
    auto rule = dyn_cast<GradientOpInterface>(op);
    if (!rule)
      return op->emitError()
             << "no gradient rule for '" << op->getName()
             << "' on the path from the trained values to the loss";
    SmallVector<bool> needed;
    for (Value operand : op->getOperands())
      needed.push_back(active.contains(operand) &&
                       isa<FloatType>(getElementTypeOrSelf(operand.getType())));
    SmallVector<Value> operandGrads;
    if (failed(rule.buildGradients(builder, resultGrads, needed, operandGrads)))
      return failure();
    if (operandGrads.size() != op->getNumOperands())
      return op->emitError()
             << "gradient rule of '" << op->getName() << "' returned "
             << operandGrads.size() << " gradients for " << op->getNumOperands()
             << " operands";
    for (auto [operand, grad, need] :
         llvm::zip(op->getOperands(), operandGrads, needed))
      if (need && grad)
        accumulate(operand, grad);
  }

  SmallVector<Value> result;
  for (Value input : inputs) {
    Value grad = grads.lookup(input);
    result.push_back(
        grad ? grad : tensormath::zerosLike(builder, input.getLoc(), input));
  }
  return result;
}
