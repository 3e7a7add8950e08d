//===- ParallelizeGenerics.cpp - dq-parallelize-generics ------------------===//
//
// The CPU code uses every core by distributing one parallel loop of each
// large linalg.generic over an OpenMP team. Tiling a parallel loop by 1 into
// an scf.forall keeps every output element's reduction on one thread and in
// its original order, so the results do not depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "dq/Support/Checks.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace mlir::dq {
#define GEN_PASS_DEF_DQPARALLELIZEGENERICS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

/// Whether `expr` only grows with every dim (sums of dims and constants,
/// dims scaled by positive constants). Tiling computes the extent of an
/// untiled slice from the last iteration, which is wrong for anything else
/// (a filter flip `2 - d1` would get extent 1).
static bool isMonotonic(AffineExpr expr) {
  if (isa<AffineDimExpr, AffineConstantExpr>(expr))
    return true;
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary)
    return false;
  if (binary.getKind() == AffineExprKind::Add)
    return isMonotonic(binary.getLHS()) && isMonotonic(binary.getRHS());
  if (binary.getKind() == AffineExprKind::Mul) {
    auto scale = dyn_cast<AffineConstantExpr>(binary.getRHS());
    return scale && scale.getValue() > 0 && isMonotonic(binary.getLHS());
  }
  return false;
}

/// The loop to distribute: the outermost parallel loop that is not the
/// innermost loop and has at least two iterations.
static std::optional<unsigned> chooseLoop(linalg::GenericOp op,
                                          int64_t minIterations) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.size() < 2 || llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  int64_t iterations = 1;
  for (int64_t range : ranges)
    iterations *= range;
  if (iterations < minIterations)
    return std::nullopt;
  for (AffineMap map : op.getIndexingMapsArray())
    if (!llvm::all_of(map.getResults(), isMonotonic))
      return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d + 1 < ranges.size(); ++d)
    if (iterators[d] == utils::IteratorType::parallel && ranges[d] >= 2)
      return d;
  return std::nullopt;
}

namespace {
struct ParallelizeGenericsPass
    : public mlir::dq::impl::DQParallelizeGenericsBase<
          ParallelizeGenericsPass> {
  using DQParallelizeGenericsBase::DQParallelizeGenericsBase;

  void runOnOperation() override {
    if (failed(mlir::dq::checkOption(getOperation()->getLoc(),
                                     "dq-parallelize-generics",
                                     "min-iterations", int64_t(minIterations),
                                     1, std::numeric_limits<int64_t>::max())))
      return signalPassFailure();
    // Only generics not already inside a distributed loop.
    SmallVector<std::pair<linalg::GenericOp, unsigned>> work;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op->getParentOfType<scf::ForallOp>())
        return;
      if (std::optional<unsigned> loop = chooseLoop(op, minIterations))
        work.emplace_back(op, *loop);
    });
    IRRewriter rewriter(&getContext());
    for (auto [op, loop] : work) {
      SmallVector<OpFoldResult> tileSizes(op.getNumLoops(),
                                          rewriter.getIndexAttr(0));
      tileSizes[loop] = rewriter.getIndexAttr(1);
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
          .setTileSizes(tileSizes);
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op.emitError("dq-parallelize-generics: cannot tile loop ") << loop;
        return signalPassFailure();
      }
      rewriter.replaceOp(op, tiled->replacements);
    }
  }
};
} // namespace
