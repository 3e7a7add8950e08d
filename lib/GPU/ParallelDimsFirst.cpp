//===- ParallelDimsFirst.cpp - dq-gpu-parallel-dims-first -----------------===//
//
// On the GPU one thread computes one output element; the parallel dims must
// therefore be the outer loops so that they form a single scf.parallel that
// the launch mapping flattens, with the reductions sequential inside.
//
//===----------------------------------------------------------------------===//

#include "dq/GPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQGPUPARALLELDIMSFIRST
#include "dq/GPU/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {
struct ParallelDimsFirstPass
    : public mlir::dq::impl::DQGPUParallelDimsFirstBase<ParallelDimsFirstPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : generics) {
      // interchange[i] is the old loop that becomes loop i.
      SmallVector<unsigned> interchange;
      SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
      for (auto [i, kind] : llvm::enumerate(iterators))
        if (linalg::isParallelIterator(kind))
          interchange.push_back(i);
      for (auto [i, kind] : llvm::enumerate(iterators))
        if (!linalg::isParallelIterator(kind))
          interchange.push_back(i);
      if (llvm::equal(interchange, llvm::seq<unsigned>(0, iterators.size())))
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, interchange))) {
        op.emitError("dq-gpu-parallel-dims-first: cannot interchange loops");
        return signalPassFailure();
      }
    }
  }
};
} // namespace
