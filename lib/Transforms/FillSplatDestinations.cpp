//===- FillSplatDestinations.cpp - dq-fill-splat-destinations -------------===//
//
// Lowering TOSA leaves splat constants (zero accumulators, zero-extended
// gradients, broadcast zero biases) as the tensors that linalg ops and
// insert_slices write into. A constant is read-only, so bufferization gives
// every such use a copy of a global as large as the tensor: a memmove per
// use (about 4 % of a ResNet-20 training step on CPU) and megabytes of zeros
// in the library. A fill of a new tensor is a memset instead, or nothing at
// all where dq-vectorize-generics starts its accumulators from the fill's
// value, and eliminate-empty-tensors can let an inserted value's producer
// write into it.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQFILLSPLATDESTINATIONS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

/// Whether `use` is a tensor that its owner writes into.
bool isDestination(OpOperand &use) {
  auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
  return dps && dps.isDpsInit(&use);
}

/// Where the fill for `use` goes: before the producer of what an
/// insert_slice inserts, when that is in the same block (so that
/// eliminate-empty-tensors can make the producer write into the fill),
/// else just before the writer.
Operation *fillPosition(OpOperand &use) {
  Operation *writer = use.getOwner();
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(writer))
    if (Operation *producer = insert.getSource().getDefiningOp())
      if (producer->getBlock() == writer->getBlock())
        return producer;
  return writer;
}

struct FillSplatDestinationsPass
    : public mlir::dq::impl::DQFillSplatDestinationsBase<
          FillSplatDestinationsPass> {
  void runOnOperation() override {
    SmallVector<OpOperand *> uses;
    getOperation().walk([&](arith::ConstantOp constant) {
      auto type = dyn_cast<RankedTensorType>(constant.getType());
      auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
      if (!type || !type.hasStaticShape() || !dense || !dense.isSplat())
        return;
      for (OpOperand &use : constant->getUses())
        if (isDestination(use))
          uses.push_back(&use);
    });
    IRRewriter rewriter(&getContext());
    for (OpOperand *use : uses) {
      auto constant = use->get().getDefiningOp<arith::ConstantOp>();
      auto type = cast<RankedTensorType>(constant.getType());
      auto dense = cast<DenseElementsAttr>(constant.getValue());
      // The writer's location: a profile charges the fill to it.
      Location loc = use->getOwner()->getLoc();
      rewriter.setInsertionPoint(fillPosition(*use));
      Value value = arith::ConstantOp::create(
          rewriter, loc, dense.getSplatValue<TypedAttr>());
      Value empty = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                            type.getElementType());
      Value filled =
          linalg::FillOp::create(rewriter, loc, value, empty).getResult(0);
      rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(filled); });
    }
    // Constants left without users are dead.
    getOperation().walk([&](arith::ConstantOp constant) {
      if (constant->use_empty() && isa<RankedTensorType>(constant.getType()))
        rewriter.eraseOp(constant);
    });
  }
};
} // namespace
