//===- HoistBodyExtracts.cpp - dq-hoist-body-extracts ---------------------===//
//
// Quantizer bodies read their level tables with tensor.extract at constant
// positions: the same few scalars for every element. Left in the body they
// become loads in the innermost loop that LLVM can neither hoist nor
// vectorize around (it cannot prove that the loop's stores leave the table
// alone), so the quantizer runs as scalar code. Read once before the op,
// they are loop-invariant values.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQHOISTBODYEXTRACTS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {
/// Moves the reads in `generic`'s body whose table and position all come
/// from outside the op in front of it.
void hoistInvariantExtracts(linalg::GenericOp generic) {
  Region &body = generic.getRegion();
  SmallVector<tensor::ExtractOp> invariant;
  body.walk([&](tensor::ExtractOp extract) {
    if (llvm::all_of(extract->getOperands(), [&](Value operand) {
          return !body.isAncestor(operand.getParentRegion());
        }))
      invariant.push_back(extract);
  });
  for (tensor::ExtractOp extract : invariant)
    extract->moveBefore(generic);
}

struct HoistBodyExtractsPass
    : public mlir::dq::impl::DQHoistBodyExtractsBase<HoistBodyExtractsPass> {
  void runOnOperation() override {
    getOperation().walk(hoistInvariantExtracts);
  }
};
} // namespace
