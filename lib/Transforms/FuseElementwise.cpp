//===- FuseElementwise.cpp - dq-fuse-elementwise --------------------------===//
//
// Elementwise fusion that never multiplies the cost of a costly producer:
// the level lookups of dq's decode and quantize ops stay out of the
// contractions that would evaluate them once per multiply-add.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQFUSEELEMENTWISE
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

/// Whether evaluating `producer`'s body more than once per element costs
/// more than materializing its result.
bool isCostly(linalg::GenericOp producer, int64_t maxOps) {
  int64_t ops = 0;
  for (Operation &op : producer.getRegion().front().without_terminator()) {
    if (isa<tensor::ExtractOp>(op) || op.getNumRegions() > 0)
      return true;
    ++ops;
  }
  return ops > maxOps;
}

/// Whether `producer` is elementwise work cheap enough to compute again in
/// each of its consumers rather than write once and read back: one result,
/// all loops parallel, at most `maxOps` operations, no table lookup; and
/// every user a generic that reads each of its elements once.
bool isSharedAndCheap(linalg::GenericOp producer, int64_t maxOps) {
  if (producer->getNumResults() != 1 || producer->hasOneUse() ||
      producer->use_empty() || producer.getNumReductionLoops() != 0 ||
      isCostly(producer, maxOps))
    return false;
  return llvm::all_of(producer->getUses(), [](OpOperand &use) {
    auto consumer = dyn_cast<linalg::GenericOp>(use.getOwner());
    return consumer && consumer.isDpsInput(&use) &&
           consumer.getMatchingIndexingMap(&use).isPermutation();
  });
}

/// Gives each consumer of a cheap shared producer a copy of its own, which
/// one-use fusion then fuses: the producer's tensor is never written and
/// read back. Returns whether anything was copied.
bool copySharedProducers(Operation *root, int64_t maxOps) {
  SmallVector<linalg::GenericOp> shared;
  root->walk([&](linalg::GenericOp producer) {
    if (isSharedAndCheap(producer, maxOps))
      shared.push_back(producer);
  });
  IRRewriter rewriter(root->getContext());
  for (linalg::GenericOp producer : shared) {
    for (OpOperand &use : llvm::make_early_inc_range(producer->getUses())) {
      rewriter.setInsertionPoint(use.getOwner());
      Operation *copy = rewriter.clone(*producer);
      rewriter.modifyOpInPlace(use.getOwner(),
                               [&] { use.set(copy->getResult(0)); });
    }
    rewriter.eraseOp(producer);
  }
  return !shared.empty();
}

struct FuseElementwisePass
    : public mlir::dq::impl::DQFuseElementwiseBase<FuseElementwisePass> {
  using DQFuseElementwiseBase::DQFuseElementwiseBase;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    int64_t maxOps = maxRecomputedOps;
    // Upstream's default: a producer with one use.
    linalg::ControlFusionFn oneUse = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    linalg::ControlFusionFn notRecomputed = [maxOps](OpOperand *fused) {
      auto producer = fused->get().getDefiningOp<linalg::GenericOp>();
      if (!producer || !producer->hasOneUse())
        return false;
      auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
      if (!consumer)
        return false;
      // A permutation reads every element exactly once.
      return consumer.getMatchingIndexingMap(fused).isPermutation() ||
             !isCostly(producer, maxOps);
    };
    RewritePatternSet patterns(context);
    linalg::populateElementwiseOpsFusionPatterns(patterns, notRecomputed);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, oneUse);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, oneUse);
    FrozenRewritePatternSet frozen(std::move(patterns));
    if (failed(applyPatternsGreedily(getOperation(), frozen)))
      return signalPassFailure();
    // Shared producers: copied per consumer, then fused; their own
    // producers may become shared in turn, so a few rounds.
    for (int round = 0;
         maxSharedOps > 0 && round < 4 &&
         copySharedProducers(getOperation(), maxSharedOps);
         ++round)
      if (failed(applyPatternsGreedily(getOperation(), frozen)))
        return signalPassFailure();
  }
};

} // namespace
