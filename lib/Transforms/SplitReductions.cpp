//===- SplitReductions.cpp - dq-split-reductions --------------------------===//
//
// A per-channel sum over a batch (batch-norm statistics, bias gradients) or
// a level-fit histogram reduces over every loop but its innermost: it has
// no parallel loop for dq-parallelize-generics to distribute, so one thread
// ran it while the others waited. Split along the outermost reduced loop
// into a fixed number of chunks, the partial sums are an op with a parallel
// loop over the chunks; a small op then adds them in chunk order. The
// chunk count is fixed by the build, not by the thread count, so results
// still do not depend on the number of threads.
//
//===----------------------------------------------------------------------===//

#include "dq/Transforms/Passes.h"

#include "dq/Support/Checks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace mlir::dq {
#define GEN_PASS_DEF_DQSPLITREDUCTIONS
#include "dq/Transforms/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

/// Whether `op`'s output `init` is written along the split loop (an
/// elementwise result fused with the sums): it is then written by the
/// partial op in place, not summed.
bool alongSplitLoop(linalg::GenericOp op, OpOperand &init) {
  return op.getMatchingIndexingMap(&init).isFunctionOfDim(0);
}

/// The add that folds each summed output's block argument into its yielded
/// value, one per output (null for outputs along the split loop); empty if
/// some summed output is updated any other way, or there is none.
SmallVector<Operation *> outputAdds(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  SmallVector<Operation *> adds;
  bool anySum = false;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    if (alongSplitLoop(op, init)) {
      adds.push_back(nullptr);
      continue;
    }
    unsigned i = init.getOperandNumber() - op.getNumDpsInputs();
    BlockArgument out = op.getMatchingBlockArgument(&init);
    if (!out.hasOneUse())
      return {};
    Operation *add = *out.getUsers().begin();
    if (!isa<arith::AddFOp, arith::AddIOp>(add) ||
        yield.getValues()[i] != add->getResult(0) ||
        !add->getResult(0).hasOneUse())
      return {};
    adds.push_back(add);
    anySum = true;
  }
  if (!anySum)
    return {};
  return adds;
}

/// The number of chunks to split `op`'s outermost loop into, or 0 if `op`
/// is not a reduction to split: static, large, reducing along its
/// outermost loop, with no other loop but the innermost that
/// dq-parallelize-generics could distribute, every operand reading the
/// outermost loop as one whole index or not at all, its summed outputs of
/// one rank.
int64_t chunksFor(linalg::GenericOp op, int64_t maxChunks,
                  int64_t minIterations) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (ranges.size() < 2 || llvm::any_of(ranges, ShapedType::isDynamic) ||
      iterators.front() != utils::IteratorType::reduction ||
      !op.hasPureTensorSemantics() || op.getNumDpsInits() == 0)
    return 0;
  int64_t iterations = 1;
  for (int64_t range : ranges)
    iterations *= range;
  if (iterations < minIterations)
    return 0;
  for (unsigned d = 0; d + 1 < ranges.size(); ++d)
    if (iterators[d] == utils::IteratorType::parallel && ranges[d] >= 2)
      return 0;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    unsigned uses = 0;
    for (AffineExpr e : map.getResults()) {
      if (!e.isFunctionOfDim(0))
        continue;
      if (!isa<AffineDimExpr>(e))
        return 0;
      ++uses;
    }
    if (uses > 1)
      return 0;
  }
  if (outputAdds(op).empty())
    return 0;
  std::optional<int64_t> rank;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    if (alongSplitLoop(op, init))
      continue;
    int64_t r = cast<RankedTensorType>(init.get().getType()).getRank();
    if (rank && *rank != r)
      return 0;
    rank = r;
  }
  for (int64_t chunks = std::min(maxChunks, ranges[0]); chunks >= 2; --chunks)
    if (ranges[0] % chunks == 0)
      return chunks;
  return 0;
}

/// `map` over the split op's loops (chunk, the rest of loop 0, the other
/// loops): loop 0 becomes the pair (chunk, rest) where it is a whole index.
AffineMap splitMap(AffineMap map, MLIRContext *ctx) {
  unsigned rank = map.getNumDims() + 1;
  SmallVector<AffineExpr> results;
  for (AffineExpr e : map.getResults()) {
    if (e == getAffineDimExpr(0, ctx)) {
      results.push_back(getAffineDimExpr(0, ctx));
      results.push_back(getAffineDimExpr(1, ctx));
      continue;
    }
    results.push_back(e.shiftDims(map.getNumDims(), 1));
  }
  return AffineMap::get(rank, 0, results, ctx);
}

/// The result of `map` that is loop 0 as a whole index, if any.
std::optional<unsigned> splitLoopResult(AffineMap map) {
  for (auto [i, e] : llvm::enumerate(map.getResults()))
    if (e == getAffineDimExpr(0, map.getContext()))
      return i;
  return std::nullopt;
}

/// The reassociation that splits dimension `at` of a rank-`rank` tensor in
/// two.
SmallVector<ReassociationIndices> splitGroups(int64_t rank, int64_t at) {
  SmallVector<ReassociationIndices> groups;
  int64_t next = 0;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == at) {
      groups.push_back({next, next + 1});
      next += 2;
      continue;
    }
    groups.push_back({next++});
  }
  return groups;
}

/// `value` with its dimension read through loop 0 of `map` split into
/// [chunks, perChunk]; `value` itself if `map` does not read loop 0.
Value expandAlongSplitLoop(RewriterBase &rewriter, Location loc, Value value,
                           AffineMap map, int64_t chunks, int64_t perChunk) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  std::optional<unsigned> at = splitLoopResult(map);
  if (!at || !type)
    return value;
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (d == int64_t(*at)) {
      shape.push_back(chunks);
      shape.push_back(perChunk);
      continue;
    }
    shape.push_back(type.getDimSize(d));
  }
  return tensor::ExpandShapeOp::create(
      rewriter, loc, RankedTensorType::get(shape, type.getElementType()),
      value, splitGroups(type.getRank(), *at));
}

void splitReduction(RewriterBase &rewriter, linalg::GenericOp op,
                    int64_t chunks) {
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  int64_t range = op.getStaticLoopRanges()[0];
  int64_t perChunk = range / chunks;
  // The body's adds move into the split op with the region.
  SmallVector<Operation *> adds = outputAdds(op);
  rewriter.setInsertionPoint(op);

  // Inputs read along loop 0 get that dimension split in two.
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    inputs.push_back(expandAlongSplitLoop(rewriter, loc, input->get(), map,
                                          chunks, perChunk));
    maps.push_back(splitMap(map, ctx));
  }

  // Summed outputs become partial sums [chunks, ...] from zeros; outputs
  // along loop 0 are written in place, split like the inputs.
  SmallVector<Value> outs;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&init);
    if (alongSplitLoop(op, init)) {
      outs.push_back(expandAlongSplitLoop(rewriter, loc, init.get(), map,
                                          chunks, perChunk));
      maps.push_back(splitMap(map, ctx));
      continue;
    }
    auto type = cast<RankedTensorType>(init.get().getType());
    SmallVector<int64_t> shape = {chunks};
    llvm::append_range(shape, type.getShape());
    Type element = type.getElementType();
    Value zero = arith::ConstantOp::create(rewriter, loc, element,
                                           rewriter.getZeroAttr(element));
    Value empty = tensor::EmptyOp::create(rewriter, loc, shape, element);
    outs.push_back(
        linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0));
    SmallVector<AffineExpr> results = {getAffineDimExpr(0, ctx)};
    for (AffineExpr e : map.getResults())
      results.push_back(e.shiftDims(map.getNumDims(), 1));
    maps.push_back(AffineMap::get(map.getNumDims() + 1, 0, results, ctx));
  }
  SmallVector<utils::IteratorType> iterators = {utils::IteratorType::parallel};
  llvm::append_range(iterators, op.getIteratorTypesArray());
  auto split = linalg::GenericOp::create(rewriter, loc,
                                         TypeRange(ValueRange(outs)), inputs,
                                         outs, maps, iterators);
  rewriter.inlineRegionBefore(op.getRegion(), split.getRegion(),
                              split.getRegion().begin());
  // Loop indices move one place; loop 0 is chunk * perChunk + rest.
  SmallVector<linalg::IndexOp> indices;
  split.getRegion().walk(
      [&](linalg::IndexOp index) { indices.push_back(index); });
  for (linalg::IndexOp index : indices) {
    rewriter.setInsertionPoint(index);
    uint64_t dim = index.getDim();
    if (dim != 0) {
      rewriter.replaceOpWithNewOp<linalg::IndexOp>(index, dim + 1);
      continue;
    }
    Value chunk = linalg::IndexOp::create(rewriter, loc, 0);
    Value rest = linalg::IndexOp::create(rewriter, loc, 1);
    Value start = arith::MulIOp::create(
        rewriter, loc, chunk,
        arith::ConstantIndexOp::create(rewriter, loc, perChunk));
    rewriter.replaceOpWithNewOp<arith::AddIOp>(index, start, rest);
  }

  // Each summed output: init + partial[0] + partial[1] + ..., in chunk
  // order, in one op; the outputs along loop 0 get their shape back.
  rewriter.setInsertionPointAfter(split);
  SmallVector<Value> partials, inits, results(op.getNumResults());
  SmallVector<Operation *> sumAdds;
  SmallVector<unsigned> summed;
  for (OpOperand &init : op.getDpsInitsMutable()) {
    unsigned i = init.getOperandNumber() - op.getNumDpsInputs();
    if (!adds[i]) {
      AffineMap map = op.getMatchingIndexingMap(&init);
      results[i] = tensor::CollapseShapeOp::create(
          rewriter, loc, init.get().getType(), split.getResult(i),
          splitGroups(map.getNumResults(), *splitLoopResult(map)));
      continue;
    }
    partials.push_back(split.getResult(i));
    inits.push_back(init.get());
    sumAdds.push_back(adds[i]);
    summed.push_back(i);
  }
  unsigned outRank = cast<RankedTensorType>(inits.front().getType()).getRank();
  SmallVector<AffineMap> combineMaps(
      partials.size(), AffineMap::getMultiDimIdentityMap(outRank + 1, ctx));
  combineMaps.append(
      inits.size(),
      AffineMap::getMultiDimIdentityMap(outRank + 1, ctx).dropResult(0));
  SmallVector<utils::IteratorType> combineIterators(
      outRank + 1, utils::IteratorType::parallel);
  combineIterators[0] = utils::IteratorType::reduction;
  auto combine = linalg::GenericOp::create(
      rewriter, loc, TypeRange(ValueRange(inits)), partials, inits,
      combineMaps, combineIterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        SmallVector<Value> sums;
        unsigned n = sumAdds.size();
        for (unsigned k = 0; k < n; ++k) {
          Operation *sum = b.clone(*sumAdds[k]);
          sum->setOperands({args[n + k], args[k]});
          sums.push_back(sum->getResult(0));
        }
        linalg::YieldOp::create(b, l, sums);
      });
  for (auto [k, i] : llvm::enumerate(summed))
    results[i] = combine.getResult(k);
  rewriter.replaceOp(op, results);
}

struct SplitReductionsPass
    : public mlir::dq::impl::DQSplitReductionsBase<SplitReductionsPass> {
  using DQSplitReductionsBase::DQSplitReductionsBase;

  void runOnOperation() override {
    Location loc = getOperation()->getLoc();
    if (failed(dq::checkOption(loc, "dq-split-reductions", "chunks",
                               int64_t(chunks), 0,
                               std::numeric_limits<int32_t>::max())) ||
        failed(dq::checkOption(loc, "dq-split-reductions", "min-iterations",
                               int64_t(minIterations), 1,
                               std::numeric_limits<int64_t>::max())))
      return signalPassFailure();
    if (chunks < 2)
      return;
    SmallVector<std::pair<linalg::GenericOp, int64_t>> work;
    getOperation().walk([&](linalg::GenericOp op) {
      if (int64_t n = chunksFor(op, chunks, minIterations))
        work.emplace_back(op, n);
    });
    IRRewriter rewriter(&getContext());
    for (auto [op, n] : work)
      splitReduction(rewriter, op, n);
  }
};
} // namespace
