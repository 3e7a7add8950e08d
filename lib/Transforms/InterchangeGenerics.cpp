//===- InterchangeGenerics.cpp - dq-interchange-generics ------------------===//
//
// The gradient rules and lowerings emit linalg.generic ops in the loop order
// that reads naturally (output dims first, reductions last). Lowered to
// plain loops that order is slow: weight gradients stream their whole input
// once per output element, and innermost reduction loops store the
// accumulator every iteration. This pass picks a cache-friendly order that
// never reorders a floating-point sum.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQINTERCHANGEGENERICS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

/// The new loop order (new position -> old loop), or an empty vector to
/// keep the op as it is.
static SmallVector<unsigned> chooseOrder(linalg::GenericOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned rank = iterators.size();
  if (llvm::none_of(iterators, [](utils::IteratorType t) {
        return t == utils::IteratorType::reduction;
      }))
    return {};
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return {};

  SmallVector<unsigned> order;
  for (unsigned d = 0; d < rank; ++d)
    order.push_back(d);
  // The output's contiguous dimension innermost, if it is a parallel loop.
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (outMap.getNumResults() > 0)
    if (auto last = dyn_cast<AffineDimExpr>(outMap.getResults().back())) {
      unsigned dim = last.getPosition();
      if (iterators[dim] == utils::IteratorType::parallel) {
        llvm::erase(order, dim);
        order.push_back(dim);
      }
    }
  // Loops: [outer reductions] [parallel] [inner reductions] [contiguous].
  // The innermost reductions run inside the parallel loops so that each
  // accumulator (a register tile's rows, see RegisterTiles.h) stays in
  // registers across them; a long reduction (a weight gradient's batch and
  // pixels) keeps its leading loops outermost so that the inner ones span
  // at most about kInnerReduction iterations of cache-resident operands.
  // Reductions keep their relative order: every sum adds in the same order.
  constexpr int64_t kInnerReduction = 1024;
  SmallVector<unsigned> reductions;
  int64_t innerExtent = 1;
  for (unsigned d : order)
    if (iterators[d] == utils::IteratorType::reduction) {
      reductions.push_back(d);
      innerExtent *= ranges[d];
    }
  unsigned numOuter = 0;
  while (numOuter + 1 < reductions.size() && innerExtent > kInnerReduction)
    innerExtent /= std::max<int64_t>(1, ranges[reductions[numOuter++]]);
  SmallVector<unsigned> newOrder(reductions.begin(),
                                 reductions.begin() + numOuter);
  for (unsigned d : order)
    if (iterators[d] == utils::IteratorType::parallel && d != order.back())
      newOrder.push_back(d);
  newOrder.append(reductions.begin() + numOuter, reductions.end());
  if (iterators[order.back()] == utils::IteratorType::parallel)
    newOrder.push_back(order.back());
  order = newOrder;
  for (unsigned d = 0; d < rank; ++d)
    if (order[d] != d)
      return order;
  return {};
}

namespace {
struct InterchangeGenericsPass
    : public mlir::dq::impl::DQInterchangeGenericsBase<
          InterchangeGenericsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    // A library's contractions (dq-mark-library-convs) keep their loops.
    getOperation()->walk([&](linalg::GenericOp op) {
      if (!op.getLibraryCall())
        generics.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : generics) {
      SmallVector<unsigned> order = chooseOrder(op);
      if (order.empty())
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order)))
        return signalPassFailure();
    }
  }
};
} // namespace
