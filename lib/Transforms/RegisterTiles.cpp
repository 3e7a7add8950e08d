//===- RegisterTiles.cpp - register tiles of sum-of-products generics ----===//

#include "dq/Transforms/RegisterTiles.h"

#include "dialects/dq/DQOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::dq;

/// The coefficient of `dim` in `expr` if `expr` is linear in the loop dims
/// (sums of dims scaled by constants, plus constants); std::nullopt if not.
std::optional<int64_t> mlir::dq::linearCoefficient(AffineExpr expr, unsigned dim) {
  if (auto d = dyn_cast<AffineDimExpr>(expr))
    return d.getPosition() == dim ? 1 : 0;
  if (isa<AffineConstantExpr>(expr))
    return 0;
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary)
    return std::nullopt;
  if (binary.getKind() == AffineExprKind::Add) {
    auto l = linearCoefficient(binary.getLHS(), dim);
    auto r = linearCoefficient(binary.getRHS(), dim);
    if (!l || !r)
      return std::nullopt;
    return *l + *r;
  }
  if (binary.getKind() == AffineExprKind::Mul)
    if (auto scale = dyn_cast<AffineConstantExpr>(binary.getRHS())) {
      auto l = linearCoefficient(binary.getLHS(), dim);
      if (!l)
        return std::nullopt;
      return *l * scale.getValue();
    }
  return std::nullopt;
}

std::optional<Fill> mlir::dq::matchFill(Value tensor) {
  if (auto fill = tensor.getDefiningOp<linalg::FillOp>())
    return Fill{fill, fill.getInputs()[0], fill.getOutputs()[0]};
  auto generic = tensor.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInits() != 1 ||
      generic.getNumDpsInputs() > 1 || generic.getNumReductionLoops() != 0)
    return std::nullopt;
  Block &body = generic.getRegion().front();
  if (generic.getNumDpsInputs() == 1) {
    // A broadcast along the last dimension: out[..., c] = in[c].
    OpOperand *input = generic.getDpsInputOperand(0);
    OpOperand *init = generic.getDpsInitOperand(0);
    auto inputType = dyn_cast<RankedTensorType>(input->get().getType());
    auto initType = cast<RankedTensorType>(init->get().getType());
    unsigned last = generic.getNumLoops() - 1;
    AffineMap inputMap = generic.getMatchingIndexingMap(input);
    if (!inputType || inputType.getRank() != 1 || !initType.hasStaticShape() ||
        !generic.getMatchingIndexingMap(init).isIdentity() ||
        inputMap.getNumResults() != 1 ||
        inputMap.getResult(0) != getAffineDimExpr(last, generic.getContext()) ||
        body.getOperations().size() != 1 ||
        cast<linalg::YieldOp>(body.getTerminator()).getValues()[0] !=
            body.getArgument(0))
      return std::nullopt;
    return Fill{generic, input->get(), init->get(), /*alongLastDim=*/true};
  }
  Value yielded = cast<linalg::YieldOp>(body.getTerminator()).getValues()[0];
  if (yielded.getParentRegion() == &generic.getRegion())
    return std::nullopt;
  // A generic fill may carry dead index ops; anything else is not a fill.
  for (Operation &inner : body.without_terminator())
    if (!isa<linalg::IndexOp>(inner) || !inner.use_empty())
      return std::nullopt;
  return Fill{generic, yielded, generic.getDpsInitOperand(0)->get()};
}

Value mlir::dq::recreateFill(OpBuilder &b, Location loc, const Fill &fill,
                             Value destination) {
  if (!fill.alongLastDim)
    return linalg::FillOp::create(b, loc, fill.value, destination)
        .getResult(0);
  auto type = cast<RankedTensorType>(destination.getType());
  unsigned rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps = {
      AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, ctx)),
      AffineMap::getMultiDimIdentityMap(rank, ctx)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{fill.value},
             ValueRange{destination}, maps, iterators,
             [](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(nb, l, args[0]);
             })
      .getResult(0);
}

/// Whether `op` can be emitted as register-tiled vector code: every operand
/// reaches the vector loop (the last loop) only through its last index, with
/// unit stride, or not at all; the body is elementwise arithmetic.
static bool isRegisterTileable(linalg::GenericOp op) {
  unsigned vectorLoop = op.getNumLoops() - 1;
  for (AffineMap map : op.getIndexingMapsArray()) {
    ArrayRef<AffineExpr> results = map.getResults();
    for (auto [i, e] : llvm::enumerate(results)) {
      std::optional<int64_t> cv = linearCoefficient(e, vectorLoop);
      if (!cv)
        return false;
      if (*cv == 0)
        continue;
      auto dim = dyn_cast<AffineDimExpr>(e);
      if (i + 1 != results.size() || !dim)
        return false;
    }
  }
  for (Operation &inner : op.getRegion().front().without_terminator()) {
    if (!isa<arith::ArithDialect>(inner.getDialect()) ||
        inner.getNumRegions() != 0 || inner.getNumResults() != 1 ||
        !inner.getResult(0).getType().isIntOrIndexOrFloat())
      return false;
    if (isa<arith::ConstantOp>(inner))
      return false;
  }
  return true;
}

std::optional<RegisterTile>
mlir::dq::chooseRegisterTile(linalg::GenericOp op,
                             const VectorTarget &target) {
  if (op->hasAttr(kKeepScalarAttr) || !isRegisterTileable(op))
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned rank = ranges.size();
  if (rank < 2 || op.getNumDpsInits() != 1 || op.getNumDpsInputs() != 2 ||
      llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  unsigned vectorLoop = rank - 1;
  if (iterators[vectorLoop] != utils::IteratorType::parallel ||
      llvm::none_of(iterators, [](utils::IteratorType t) {
        return t == utils::IteratorType::reduction;
      }))
    return std::nullopt;
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (outMap.getNumResults() == 0 ||
      outMap.getResults().back() != getAffineDimExpr(vectorLoop,
                                                     op.getContext()))
    return std::nullopt;
  auto element = dyn_cast<FloatType>(
      getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType()));
  if (!element)
    return std::nullopt;
  int64_t lanes = std::max<int64_t>(1, target.bits / element.getWidth());
  int64_t range = ranges[vectorLoop];
  // Tiles rows x columns, compared by (whether one vector load serves every
  // row, multiply-adds per loaded or broadcast operand, accumulators, width).
  struct Candidate {
    RegisterTile tile;
    bool shares;
    int64_t vectors;
  };
  auto better = [](const Candidate &a, const Candidate &b) {
    if (a.shares != b.shares)
      return a.shares;
    // rows*v / (rows+v) compared exactly.
    int64_t ra = a.tile.rows, rb = b.tile.rows;
    int64_t lhs = ra * a.vectors * (rb + b.vectors);
    int64_t rhs = rb * b.vectors * (ra + a.vectors);
    if (lhs != rhs)
      return lhs > rhs;
    if (ra * a.vectors != rb * b.vectors)
      return ra * a.vectors > rb * b.vectors;
    if (a.vectors != b.vectors)
      return a.vectors > b.vectors;
    return ra >= rb; // the later loop on a tie, as before
  };
  // Column widths: the whole loop, or a multiple of the vector width that
  // divides it.
  SmallVector<int64_t> widths = {range};
  for (int64_t columns = lanes; columns < range; columns += lanes)
    if (range % columns == 0)
      widths.push_back(columns);
  std::optional<Candidate> best;
  for (int64_t columns : widths) {
    int64_t vectors = llvm::divideCeil(columns, lanes);
    // Accumulators plus one loaded vector per row part and a broadcast.
    int64_t maxRows = (target.registers - vectors - 2) / vectors;
    maxRows = std::min<int64_t>(maxRows, 8);
    if (maxRows < 2)
      continue;
    for (unsigned r = 0; r < vectorLoop; ++r) {
      // Rows are distinct outputs: reordering them keeps every sum's order.
      if (iterators[r] != utils::IteratorType::parallel || ranges[r] < 2 ||
          !outMap.isFunctionOfDim(r))
        continue;
      // Each operand's access must be linear in `r`, and not mix `r` with
      // the vector loop.
      bool ok = true, shares = true;
      for (AffineMap map : op.getIndexingMapsArray())
        for (AffineExpr e : map.getResults()) {
          auto cr = linearCoefficient(e, r),
               cv = linearCoefficient(e, vectorLoop);
          if (!cr || !cv || (*cr && *cv))
            ok = false;
        }
      if (!ok)
        continue;
      // Whether the vector operand (an input walking the vector loop) is
      // independent of `r`, so that one load serves R rows.
      for (OpOperand *input : op.getDpsInputOperands()) {
        AffineMap map = op.getMatchingIndexingMap(input);
        if (!map.isFunctionOfDim(vectorLoop))
          continue;
        if (map.isFunctionOfDim(r))
          shares = false;
      }
      int64_t rows = 1;
      for (int64_t d = maxRows; d >= 2; --d)
        if (ranges[r] % d == 0) {
          rows = d;
          break;
        }
      if (rows < 2)
        continue;
      Candidate candidate{RegisterTile{r, rows, columns}, shares, vectors};
      if (!best || better(candidate, *best))
        best = candidate;
    }
  }
  if (!best)
    return std::nullopt;
  return best->tile;
}

