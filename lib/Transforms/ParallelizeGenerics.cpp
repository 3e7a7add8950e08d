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
#include "dq/Transforms/RegisterTiles.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace mlir::dq {
#define GEN_PASS_DEF_DQPARALLELIZEGENERICS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

/// Whether `map` only grows with every dim (each result linear, no dim
/// scaled by a negative constant). Tiling computes the extent of an untiled
/// slice from the last iteration, which is wrong for anything else (a
/// filter flip `2 - d1` would get extent 1).
static bool isMonotonic(AffineMap map) {
  return llvm::all_of(map.getResults(), [&](AffineExpr expr) {
    for (unsigned d = 0; d < map.getNumDims(); ++d) {
      std::optional<int64_t> coefficient = dq::linearCoefficient(expr, d);
      if (!coefficient || *coefficient < 0)
        return false;
    }
    return true;
  });
}

/// The loop to distribute and its chunk: the outermost parallel loop that
/// is not the innermost loop and has at least two chunks, where a chunk is
/// one iteration or, for the loop of the op's register tile, its rows.
static std::optional<std::pair<unsigned, int64_t>>
chooseLoop(linalg::GenericOp op, int64_t minIterations,
           std::optional<dq::RegisterTile> tile) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (ranges.size() < 2 || llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  int64_t iterations = 1;
  for (int64_t range : ranges)
    iterations *= range;
  if (iterations < minIterations)
    return std::nullopt;
  if (!llvm::all_of(op.getIndexingMapsArray(), isMonotonic))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d + 1 < ranges.size(); ++d) {
    int64_t chunk = tile && tile->loop == d ? tile->rows : 1;
    if (iterators[d] == utils::IteratorType::parallel &&
        ranges[d] / chunk >= 2)
      return std::make_pair(d, chunk);
  }
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
    dq::VectorTarget target{vectorBits, vectorRegisters};
    // The fill initializing a register-tiled op's output, if any: it moves
    // into that op's distributed loop, onto each slice, so that
    // dq-vectorize-generics still finds it next to the op (and starts the
    // accumulators from its value instead of memory).
    auto fillTakenBy = [&](linalg::GenericOp op) -> std::optional<dq::Fill> {
      if (op.getNumDpsInits() != 1 || !dq::chooseRegisterTile(op, target))
        return std::nullopt;
      return dq::matchFill(op.getDpsInitOperand(0)->get());
    };
    // Only generics not already inside a distributed loop; a fill every
    // user of which takes it along is not distributed on its own.
    struct Work {
      linalg::GenericOp op;
      unsigned loop;
      int64_t chunk;
    };
    SmallVector<Work> work;
    getOperation()->walk([&](linalg::GenericOp op) {
      // A library call (dq-mark-library-convs) runs its own threads.
      if (op->getParentOfType<scf::ForallOp>() || op.getLibraryCall())
        return;
      if (op->getNumResults() == 1 && dq::matchFill(op->getResult(0)) &&
          !op->getResult(0).use_empty() &&
          llvm::all_of(op->getResult(0).getUsers(), [&](Operation *user) {
            auto generic = dyn_cast<linalg::GenericOp>(user);
            return generic && fillTakenBy(generic) &&
                   generic.getDpsInitOperand(0)->get() == op->getResult(0);
          }))
        return;
      if (auto loop = chooseLoop(op, minIterations,
                                 dq::chooseRegisterTile(op, target)))
        work.push_back({op, loop->first, loop->second});
    });
    IRRewriter rewriter(&getContext());
    for (auto [op, loop, chunk] : work) {
      SmallVector<OpFoldResult> tileSizes(op.getNumLoops(),
                                          rewriter.getIndexAttr(0));
      tileSizes[loop] = rewriter.getIndexAttr(chunk);
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp)
          .setTileSizes(tileSizes);
      rewriter.setInsertionPoint(op);
      std::optional<dq::Fill> fill = fillTakenBy(op);
      if (fill)
        rewriter.modifyOpInPlace(op, [&] {
          op.getDpsInitOperand(0)->set(fill->destination);
        });
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op.emitError("dq-parallelize-generics: cannot tile loop ") << loop;
        return signalPassFailure();
      }
      if (fill) {
        auto tiledOp = cast<linalg::GenericOp>(tiled->tiledOps.front());
        OpOperand *tiledInit = tiledOp.getDpsInitOperand(0);
        rewriter.setInsertionPoint(tiledOp);
        Value filled = dq::recreateFill(rewriter, fill->op->getLoc(), *fill,
                                        tiledInit->get());
        rewriter.modifyOpInPlace(tiledOp, [&] { tiledInit->set(filled); });
      }
      rewriter.replaceOp(op, tiled->replacements);
      if (fill && fill->op->use_empty())
        rewriter.eraseOp(fill->op);
    }
  }
};
} // namespace
