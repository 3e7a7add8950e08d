//===- DQToLinalg.cpp - lower dq ops to linalg.generic --------------------===//
//
// Each dq op becomes linalg.generic ops on tensors computing the numeric
// contract of docs/Numerics.md, the same one dq/Numerics/Levels.h
// implements for folds and initialization: level tables accumulated in bit
// order, nearest-level scans that keep the larger level on ties and the
// lowest code among equal levels, the same counter-based hash for
// stochastic rounding.
//
//===----------------------------------------------------------------------===//

#include "dq/Conversion/Passes.h"

#include "dialects/dq/DQOps.h"
#include "dq/Interfaces/TensorMath.h"
#include "dq/Numerics/Levels.h"
#include "dq/Support/X86ByteSums.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::dq {
#define GEN_PASS_DEF_CONVERTDQTOLINALG
#include "dq/Conversion/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;
namespace num = ::dq::numerics;
using namespace mlir::dq;

namespace {

/// Scalar helpers inside a linalg.generic body.
struct BodyBuilder {
  OpBuilder &b;
  Location loc;

  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value f64(double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  Value i32(uint32_t v) {
    return arith::ConstantOp::create(
        b, loc, b.getI32IntegerAttr(static_cast<int32_t>(v)));
  }
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value index(unsigned dim) { return linalg::IndexOp::create(b, loc, dim); }
  Value extract(Value tensor, ValueRange indices) {
    return tensor::ExtractOp::create(b, loc, tensor, indices);
  }
  Value select(Value c, Value t, Value f) {
    return arith::SelectOp::create(b, loc, c, t, f);
  }
  Value cmpf(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, p, x, y);
  }
  Value cmpi(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value ori(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value addf(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value subf(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mulf(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value divf(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }

  /// Sign (bipolar, +-1) or bit (unipolar, 0/1) `k` of `code` (i32) as f32.
  Value codeCoefficient(Value code, unsigned k, Encoding encoding,
                        Type floatType) {
    Value bit = arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, code, i32(k)), i32(1));
    Value asFloat = arith::UIToFPOp::create(b, loc, floatType, bit);
    if (encoding == Encoding::Unipolar)
      return asFloat;
    Value two = arith::ConstantOp::create(b, loc, b.getFloatAttr(floatType, 2));
    Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(floatType, 1));
    return subf(mulf(two, asFloat), one);
  }

  /// mix32 of dq/Numerics/Levels.h on i32.
  Value mix32(Value x) {
    auto xorShift = [&](Value v, uint32_t s) {
      return arith::XOrIOp::create(b, loc, v,
                                   arith::ShRUIOp::create(b, loc, v, i32(s)));
    };
    x = xorShift(x, 16);
    x = arith::MulIOp::create(b, loc, x, i32(0x7feb352du));
    x = xorShift(x, 15);
    x = arith::MulIOp::create(b, loc, x, i32(0x846ca68bu));
    return xorShift(x, 16);
  }
  Value xori(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }
};

int64_t numCodes(unsigned bits) { return int64_t(1) << bits; }

unsigned bitsOfBasis(RankedTensorType basis, Encoding encoding) {
  return encoding == Encoding::Bipolar ? basis.getDimSize(1)
                                       : basis.getDimSize(0);
}

/// Dynamic sizes of `value` (for tensor.empty of the same shape).
SmallVector<Value> dynamicSizes(OpBuilder &b, Location loc, Value value) {
  SmallVector<Value> sizes;
  auto type = cast<RankedTensorType>(value.getType());
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(tensor::DimOp::create(b, loc, value, d));
  return sizes;
}

Value emptyLike(OpBuilder &b, Location loc, Value shapeOf, Type elementType) {
  auto type = cast<RankedTensorType>(shapeOf.getType());
  return tensor::EmptyOp::create(b, loc, type.getShape(), elementType,
                                 dynamicSizes(b, loc, shapeOf));
}

/// Levels of every code: [channels x 2^K] for a bipolar basis, [2^K] for a
/// unipolar one. Accumulated in bit order like levelOf().
Value buildLevelTable(OpBuilder &b, Location loc, Value basis,
                      Encoding encoding) {
  auto basisType = cast<RankedTensorType>(basis.getType());
  unsigned bits = bitsOfBasis(basisType, encoding);
  Type f32 = basisType.getElementType();
  bool perChannel = encoding == Encoding::Bipolar;
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamic;
  if (perChannel) {
    shape.push_back(basisType.getDimSize(0));
    if (basisType.isDynamicDim(0))
      dynamic.push_back(tensor::DimOp::create(b, loc, basis, 0));
  }
  shape.push_back(numCodes(bits));
  Value init = tensor::EmptyOp::create(b, loc, shape, f32, dynamic);
  unsigned rank = shape.size();
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), ValueRange{}, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange) {
        BodyBuilder bb{nb, nloc};
        Value code = arith::IndexCastUIOp::create(nb, nloc, nb.getI32Type(),
                                                  bb.index(rank - 1));
        Value level = bb.f32(0.0);
        for (unsigned k = 0; k < bits; ++k) {
          SmallVector<Value> at;
          if (perChannel)
            at.push_back(bb.index(0));
          at.push_back(bb.idx(k));
          Value v = bb.extract(basis, at);
          level = bb.addf(
              level, bb.mulf(bb.codeCoefficient(code, k, encoding, f32), v));
        }
        linalg::YieldOp::create(nb, nloc, level);
      });
  return generic.getResult(0);
}

/// The smallest and largest level of each table row ([channels] tensors
/// for a [channels x 2^K] table, 0-d for a [2^K] one), computed once rather
/// than per element.
std::pair<Value, Value> levelRange(OpBuilder &b, Location loc, Value table) {
  auto tableType = cast<RankedTensorType>(table.getType());
  unsigned rank = tableType.getRank();
  auto rangeType = RankedTensorType::get(tableType.getShape().drop_back(),
                                         tableType.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  AffineMap rowMap = b.getMultiDimIdentityMap(rank).dropResult(rank - 1);
  auto reduce = [&](double init, bool max) {
    Value initValue = tensormath::splat(b, loc, rangeType, init);
    return linalg::GenericOp::create(
               b, loc, rangeType, ValueRange{table}, ValueRange{initValue},
               ArrayRef<AffineMap>{b.getMultiDimIdentityMap(rank), rowMap},
               iterators,
               [&](OpBuilder &nb, Location l, ValueRange a) {
                 Value r = max ? arith::MaximumFOp::create(nb, l, a[1], a[0])
                                     .getResult()
                               : arith::MinimumFOp::create(nb, l, a[1], a[0])
                                     .getResult();
                 linalg::YieldOp::create(nb, l, r);
               })
        .getResult(0);
  };
  double inf = std::numeric_limits<double>::infinity();
  return {reduce(inf, /*max=*/false), reduce(-inf, /*max=*/true)};
}

/// A level table sorted ascending per row, for binary search: `levels`
/// ([channels x 2^K] or [2^K], like the table) and, per sorted position, the
/// representative code of its level (the lowest code among equal levels, as
/// the scan keeps). Computed by rank counting, O(4^K) per row: negligible next
/// to the elements it serves, and free of data-dependent writes.
struct SortedLevels {
  Value levels;
  Value codes; // i32, null unless asked for
};

SortedLevels sortLevelTable(OpBuilder &b, Location loc, Value table,
                            bool withCodes) {
  auto tableType = cast<RankedTensorType>(table.getType());
  unsigned rank = tableType.getRank();
  MLIRContext *ctx = b.getContext();
  // Loops (rows..., i, j): i is the position being produced, j scans codes.
  unsigned loops = rank + 1;
  SmallVector<AffineExpr> rowDims;
  for (unsigned d = 0; d + 1 < rank; ++d)
    rowDims.push_back(getAffineDimExpr(d, ctx));
  auto withLast = [&](unsigned dim) {
    SmallVector<AffineExpr> exprs = rowDims;
    exprs.push_back(getAffineDimExpr(dim, ctx));
    return AffineMap::get(loops, 0, exprs, ctx);
  };
  AffineMap atI = withLast(rank - 1), atJ = withLast(rank);
  SmallVector<utils::IteratorType> iterators(loops,
                                             utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  Type i32 = b.getI32Type();
  auto i32Type = RankedTensorType::get(tableType.getShape(), i32);
  auto i32Splat = [&](int64_t v) {
    Value c = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
    Value empty = tensor::EmptyOp::create(b, loc, tableType.getShape(), i32);
    return linalg::FillOp::create(b, loc, c, empty).getResult(0);
  };

  // rank[i] = #{j : l[j] < l[i] or (l[j] == l[i] and j < i)}: the position
  // of code i in a stable ascending sort.
  // Scalar loops: the tables are tiny, and the index-dependent bodies are
  // not worth the vectorizer's gathers.
  auto keepScalar = [&](linalg::GenericOp op) {
    op->setAttr(kKeepScalarAttr, b.getUnitAttr());
    return op.getResult(0);
  };
  Value ranks = keepScalar(linalg::GenericOp::create(
      b, loc, i32Type, ValueRange{table, table}, ValueRange{i32Splat(0)},
      ArrayRef<AffineMap>{atI, atJ, atI}, iterators,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        BodyBuilder bb{nb, l};
        Value i = bb.index(rank - 1), j = bb.index(rank);
        Value before =
            bb.ori(bb.cmpf(arith::CmpFPredicate::OLT, a[1], a[0]),
                   bb.andi(bb.cmpf(arith::CmpFPredicate::OEQ, a[1], a[0]),
                           bb.cmpi(arith::CmpIPredicate::ult, j, i)));
        Value one = arith::ExtUIOp::create(nb, l, nb.getI32Type(), before);
        linalg::YieldOp::create(
            nb, l, arith::AddIOp::create(nb, l, a[2], one).getResult());
      }));

  // sorted[i] = the level of the code whose rank is i. Positions no code
  // reaches (only with NaN levels) stay NaN.
  Value nanInit = tensormath::splat(b, loc, tableType,
                                    std::numeric_limits<double>::quiet_NaN());
  Value sorted = keepScalar(linalg::GenericOp::create(
      b, loc, tableType, ValueRange{table, ranks}, ValueRange{nanInit},
      ArrayRef<AffineMap>{atJ, atJ, atI}, iterators,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        BodyBuilder bb{nb, l};
        Value i = arith::IndexCastUIOp::create(nb, l, nb.getI32Type(),
                                               bb.index(rank - 1));
        Value hit = bb.cmpi(arith::CmpIPredicate::eq, a[1], i);
        linalg::YieldOp::create(nb, l, bb.select(hit, a[0], a[2]));
      }));
  if (!withCodes)
    return {sorted, Value()};

  // codes[i] = the lowest code whose level equals sorted[i] (j ascends, so
  // the first hit is kept).
  int64_t count = tableType.getShape().back();
  Value codes = keepScalar(linalg::GenericOp::create(
      b, loc, i32Type, ValueRange{sorted, table}, ValueRange{i32Splat(count)},
      ArrayRef<AffineMap>{atI, atJ, atI}, iterators,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        BodyBuilder bb{nb, l};
        Value j = arith::IndexCastUIOp::create(nb, l, nb.getI32Type(),
                                               bb.index(rank));
        Value first = bb.andi(bb.cmpf(arith::CmpFPredicate::OEQ, a[1], a[0]),
                              bb.cmpi(arith::CmpIPredicate::eq, a[2],
                                      bb.i32(static_cast<uint32_t>(count))));
        linalg::YieldOp::create(nb, l, bb.select(first, j, a[2]));
      }));
  return {sorted, codes};
}

/// `x` clamped into [minLevel, maxLevel], so that far-out values take the
/// extreme level even when float distances round to a tie; NaN stays NaN.
Value clampToLevels(BodyBuilder &bb, Value x, Value minLevel, Value maxLevel) {
  return arith::MinimumFOp::create(
      bb.b, bb.loc, arith::MaximumFOp::create(bb.b, bb.loc, x, minLevel),
      maxLevel);
}

/// Nearest level by binary search in a sorted table: returns (level, sorted
/// position as index). `sortedAt(p)` yields the level at position p of
/// `count` (a power of two). The same choice as scanNearest and
/// LevelTable::nearestIndex: the largest level <= x or the next one up,
/// whichever is closer, the larger on a tie; K gathers instead of 2^K steps.
std::pair<Value, Value> searchNearest(BodyBuilder &bb, Value x, int64_t count,
                                      function_ref<Value(Value)> sortedAt,
                                      Value minLevel, Value maxLevel) {
  x = clampToLevels(bb, x, minLevel, maxLevel);
  // Uniform binary search: sortedAt(0) <= x after the clamp (NaN: stays 0).
  Value pos = bb.idx(0);
  for (int64_t step = count / 2; step >= 1; step /= 2) {
    Value next = arith::AddIOp::create(bb.b, bb.loc, pos, bb.idx(step));
    Value fits = bb.cmpf(arith::CmpFPredicate::OLE, sortedAt(next), x);
    pos = bb.select(fits, next, pos);
  }
  Value up = arith::MinUIOp::create(
      bb.b, bb.loc, arith::AddIOp::create(bb.b, bb.loc, pos, bb.idx(1)),
      bb.idx(count - 1));
  Value lo = sortedAt(pos), hi = sortedAt(up);
  Value dLo = math::AbsFOp::create(bb.b, bb.loc, bb.subf(x, lo));
  Value dHi = math::AbsFOp::create(bb.b, bb.loc, bb.subf(x, hi));
  Value takeHi = bb.cmpf(arith::CmpFPredicate::OLE, dHi, dLo);
  return {bb.select(takeHi, hi, lo), bb.select(takeHi, up, pos)};
}

/// Above this many codes the nearest level is found by binary search in a
/// sorted table; at or below it the unrolled scan (pure vector arithmetic,
/// no gathers) is faster.
constexpr int64_t kScanCodes = 16;

/// Nearest level scan: returns (level, code as index). `levelOf(c)` yields
/// the level of code c (an index value). A tie keeps the larger level; equal
/// levels keep the first code. `x` is first clamped into the level range
/// [minLevel, maxLevel] so
/// that far-out values take the extreme level even when float distances
/// round to a tie; NaN stays NaN and yields code 0.
std::pair<Value, Value> scanNearest(BodyBuilder &bb, Value x, int64_t count,
                                    function_ref<Value(Value)> levelOf,
                                    Value minLevel, Value maxLevel) {
  x = clampToLevels(bb, x, minLevel, maxLevel);
  auto step = [&](Value c, Value bestLevel, Value bestCode,
                  Value bestDist) -> std::array<Value, 3> {
    Value l = levelOf(c);
    Value d = math::AbsFOp::create(bb.b, bb.loc, bb.subf(x, l));
    Value closer = bb.cmpf(arith::CmpFPredicate::OLT, d, bestDist);
    Value tieUp = bb.andi(bb.cmpf(arith::CmpFPredicate::OEQ, d, bestDist),
                          bb.cmpf(arith::CmpFPredicate::OGT, l, bestLevel));
    Value take = bb.ori(closer, tieUp);
    return {bb.select(take, l, bestLevel), bb.select(take, c, bestCode),
            bb.select(take, d, bestDist)};
  };
  Value c0 = bb.idx(0);
  Value bestLevel = levelOf(c0);
  Value bestCode = c0;
  Value bestDist = math::AbsFOp::create(bb.b, bb.loc, bb.subf(x, bestLevel));
  if (count <= 16) {
    for (int64_t c = 1; c < count; ++c) {
      auto next = step(bb.idx(c), bestLevel, bestCode, bestDist);
      std::tie(bestLevel, bestCode, bestDist) =
          std::tuple(next[0], next[1], next[2]);
    }
    return {bestLevel, bestCode};
  }
  auto loop = scf::ForOp::create(
      bb.b, bb.loc, bb.idx(1), bb.idx(count), bb.idx(1),
      ValueRange{bestLevel, bestCode, bestDist},
      [&](OpBuilder &lb, Location lloc, Value c, ValueRange iter) {
        auto saved = bb.b.saveInsertionPoint();
        bb.b.setInsertionPoint(lb.getInsertionBlock(), lb.getInsertionPoint());
        auto next = step(c, iter[0], iter[1], iter[2]);
        scf::YieldOp::create(bb.b, lloc, ValueRange{next[0], next[1], next[2]});
        bb.b.restoreInsertionPoint(saved);
      });
  return {loop.getResult(0), loop.getResult(1)};
}

/// Linear (row-major) index of the current iteration, as i32, for the
/// counter-based random numbers.
Value linearIndexI32(BodyBuilder &bb, RankedTensorType type) {
  Value linear = bb.idx(0);
  for (int64_t d = 0; d < type.getRank(); ++d) {
    linear =
        arith::MulIOp::create(bb.b, bb.loc, linear, bb.idx(type.getDimSize(d)));
    linear = arith::AddIOp::create(bb.b, bb.loc, linear, bb.index(d));
  }
  return arith::IndexCastUIOp::create(bb.b, bb.loc, bb.b.getI32Type(), linear);
}

/// counterUniform(seed, counter, index) of dq/Numerics/Levels.h.
Value counterUniform(BodyBuilder &bb, uint64_t seed, Value counter,
                     Value index) {
  OpBuilder &b = bb.b;
  Location loc = bb.loc;
  Value counterLo = arith::TruncIOp::create(b, loc, b.getI32Type(), counter);
  Value counterHi = arith::TruncIOp::create(
      b, loc, b.getI32Type(),
      arith::ShRUIOp::create(
          b, loc, counter,
          arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(32))));
  Value h = bb.mix32(bb.i32(static_cast<uint32_t>(seed) ^ 0x9e3779b9u));
  h = bb.mix32(bb.xori(h, bb.i32(static_cast<uint32_t>(seed >> 32))));
  h = bb.mix32(bb.xori(h, counterLo));
  h = bb.mix32(bb.xori(h, counterHi));
  h = bb.mix32(bb.xori(h, index));
  Value top24 = arith::ShRUIOp::create(b, loc, h, bb.i32(8));
  Value asFloat = arith::UIToFPOp::create(b, loc, b.getF32Type(), top24);
  return bb.mulf(asFloat, bb.f32(1.0 / 16777216.0));
}

/// Elementwise generic over `input` producing `resultType` elements.
/// Elementwise generic over `input`; `perChannel` tensors (a 0-d tensor, or
/// one value per index along `axis`) are passed to `body` as scalars after
/// the element, so bodies need no gathers for them.
Value elementwise(OpBuilder &b, Location loc, Value input, Type elementType,
                  function_ref<Value(BodyBuilder &, ValueRange)> body,
                  ValueRange perChannel = {}, int64_t axis = 0) {
  auto type = cast<RankedTensorType>(input.getType());
  Value init = emptyLike(b, loc, input, elementType);
  unsigned rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<Value> inputs = {input};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  for (Value v : perChannel) {
    inputs.push_back(v);
    bool scalar = cast<RankedTensorType>(v.getType()).getRank() == 0;
    maps.push_back(
        scalar ? AffineMap::get(rank, 0, {}, ctx)
               : AffineMap::get(rank, 0, {getAffineDimExpr(axis, ctx)}, ctx));
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        BodyBuilder bb{nb, nloc};
        linalg::YieldOp::create(nb, nloc, body(bb, args.drop_back()));
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

struct DecodeWeightsLowering : OpRewritePattern<DecodeWeightsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DecodeWeightsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table =
        buildLevelTable(rewriter, loc, op.getBasis(), Encoding::Bipolar);
    unsigned axis = op.getAxis();
    Value result =
        elementwise(rewriter, loc, op.getCodes(), op.getType().getElementType(),
                    [&](BodyBuilder &bb, ValueRange args) {
                      Value c = arith::IndexCastUIOp::create(
                          bb.b, bb.loc, bb.b.getIndexType(), args[0]);
                      return bb.extract(table, {bb.index(axis), c});
                    });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// x when `value` is max(x, +0) computed elementwise by a linalg.generic
/// (the training graph's clamp in front of an activation fit); null
/// otherwise.
Value clampedAtZeroOf(Value value) {
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic->getNumResults() != 1 ||
      generic.getNumLoops() != generic.getNumParallelLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return {};
  Block &body = generic.getRegion().front();
  auto max = body.getTerminator()->getOperand(0).getDefiningOp<arith::MaximumFOp>();
  if (!max)
    return {};
  Value arg = body.getArgument(0);
  Value other = max.getLhs() == arg   ? max.getRhs()
                : max.getRhs() == arg ? max.getLhs()
                                      : Value();
  FloatAttr zero;
  if (!other || !matchPattern(other, m_Constant(&zero)) ||
      !zero.getValue().isPosZero())
    return {};
  return generic.getDpsInputOperand(0)->get();
}

/// The nearest unipolar projection of max(x, 0) on the basis of `act`
/// (the activation fit of the training graph), later in the same block: it
/// repeats the quantizer's search exactly (the quantizer clamps x below at
/// 0 too, and a search cannot tell -0 from +0), so both are lowered as one.
ProjectOp sharedProjection(QuantizeActOp act) {
  for (Operation *user : act.getInput().getUsers()) {
    auto clamp = dyn_cast<linalg::GenericOp>(user);
    if (!clamp || clamp->getNumResults() != 1 ||
        clampedAtZeroOf(clamp->getResult(0)) != act.getInput())
      continue;
    for (Operation *clampUser : clamp->getResult(0).getUsers()) {
      auto project = dyn_cast<ProjectOp>(clampUser);
      if (project && project.getValues() == clamp->getResult(0) &&
          project.getBasis() == act.getBasis() &&
          project.getEncoding() == Encoding::Unipolar &&
          project.getRounding() == Rounding::Nearest &&
          project.getAxis() == act.getAxis() &&
          project->getBlock() == act->getBlock() &&
          act->isBeforeInBlock(project))
        return project;
    }
  }
  return {};
}

/// The quantizer that lowers `project` together with itself, if any.
QuantizeActOp sharingQuantizer(ProjectOp project) {
  Value x = clampedAtZeroOf(project.getValues());
  if (!x)
    return {};
  for (Operation *user : x.getUsers())
    if (auto act = dyn_cast<QuantizeActOp>(user))
      if (sharedProjection(act) == project)
        return act;
  return {};
}

/// dq.quantize_act: per element a clamp at 0, then the nearest level (a
/// scan up to 16 levels, a binary search in the sorted table above); NaN
/// passes. With the projection of its activation fit (sharedProjection) one
/// generic yields the level and the code (NaN: code 0), bit for bit what the
/// two lowerings give apart.
struct QuantizeActLowering : OpRewritePattern<QuantizeActOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeActOp op,
                                PatternRewriter &rewriter) const override {
    ProjectOp project = sharedProjection(op);
    Location loc = op.getLoc();
    Value table =
        buildLevelTable(rewriter, loc, op.getBasis(), Encoding::Unipolar);
    int64_t count = numCodes(op.getConfig().getBits());
    auto [minLevels, maxLevels] = levelRange(rewriter, loc, table);
    SortedLevels sorted;
    if (count > kScanCodes)
      sorted = sortLevelTable(rewriter, loc, table, /*withCodes=*/bool(project));
    Value x = op.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    unsigned rank = type.getRank();
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap scalar = AffineMap::get(rank, 0, {}, rewriter.getContext());
    SmallVector<Type> resultTypes = {type};
    SmallVector<Value> inits = {emptyLike(rewriter, loc, x, type.getElementType())};
    SmallVector<AffineMap> maps = {identity, scalar, scalar, identity};
    Type codeType;
    if (project) {
      codeType = project.getType().getElementType();
      resultTypes.push_back(RankedTensorType::get(type.getShape(), codeType));
      inits.push_back(emptyLike(rewriter, loc, x, codeType));
      maps.push_back(identity);
    }
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, resultTypes, ValueRange{x, minLevels, maxLevels}, inits,
        maps, iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
          BodyBuilder bb{nb, nloc};
          Value v = args[0];
          // Clamp below at 0; NaN stays NaN.
          Value clamped =
              bb.select(bb.cmpf(arith::CmpFPredicate::OLT, v, bb.f32(0.0)),
                        bb.f32(0.0), v);
          Value level, code;
          if (sorted.levels) {
            auto [nearest, pos] = searchNearest(
                bb, clamped, count,
                [&](Value p) { return bb.extract(sorted.levels, {p}); },
                args[1], args[2]);
            level = nearest;
            code = pos;
          } else {
            std::tie(level, code) = scanNearest(
                bb, clamped, count,
                [&](Value c) { return bb.extract(table, {c}); }, args[1],
                args[2]);
          }
          Value isNaN = bb.cmpf(arith::CmpFPredicate::UNO, v, v);
          // The search gives a sorted position: its code (NaN: code 0, as
          // the scan gives).
          if (project && sorted.levels)
            code = arith::IndexCastUIOp::create(
                nb, nloc, nb.getIndexType(),
                bb.select(isNaN, bb.i32(0), bb.extract(sorted.codes, {code})));
          SmallVector<Value> yields = {bb.select(isNaN, v, level)};
          if (project)
            yields.push_back(
                arith::IndexCastUIOp::create(nb, nloc, codeType, code));
          linalg::YieldOp::create(nb, nloc, yields);
        });
    if (project)
      rewriter.replaceOp(project, generic.getResult(1));
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct ProjectLowering : OpRewritePattern<ProjectOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ProjectOp op,
                                PatternRewriter &rewriter) const override {
    // Lowered with the quantizer whose search it repeats.
    if (sharingQuantizer(op))
      return failure();
    Location loc = op.getLoc();
    Encoding encoding = op.getEncoding();
    bool stochastic = op.getRounding() == Rounding::Stochastic;
    if (!stochastic && encoding == Encoding::Unipolar &&
        succeeded(lowerWithConstantSteps(op, rewriter)))
      return success();
    Value table = buildLevelTable(rewriter, loc, op.getBasis(), encoding);
    auto basisType = op.getBasis().getType();
    int64_t count = numCodes(bitsOfBasis(basisType, encoding));
    unsigned axis = op.getAxis();
    auto valuesType = op.getValues().getType();
    Type codeType = op.getType().getElementType();
    if (stochastic && !valuesType.hasStaticShape())
      return rewriter.notifyMatchFailure(
          op, "stochastic rounding needs a static shape");
    Value counter = op.getCounter();
    uint64_t seed = op.getSeed() ? static_cast<uint64_t>(*op.getSeed()) : 0;
    // Nearest rounding gets each row's level range as per-channel inputs.
    SmallVector<Value> ranges;
    SortedLevels sorted;
    if (!stochastic) {
      auto [minLevels, maxLevels] = levelRange(rewriter, loc, table);
      ranges = {minLevels, maxLevels};
      if (count > kScanCodes)
        sorted = sortLevelTable(rewriter, loc, table, /*withCodes=*/true);
    }

    Value result = elementwise(
        rewriter, loc, op.getValues(), codeType,
        [&](BodyBuilder &bb, ValueRange args) {
          Value x = args[0];
          // The channel index is taken here, in the generic's body: above
          // 16 codes the scan is an scf.for, where linalg.index is invalid.
          Value channel =
              encoding == Encoding::Bipolar ? bb.index(axis) : Value();
          auto levelOf = [&](Value c) {
            if (channel)
              return bb.extract(table, {channel, c});
            return bb.extract(table, {c});
          };
          Value code;
          if (!stochastic && sorted.levels) {
            auto at = [&](Value tensor, Value p) {
              if (channel)
                return bb.extract(tensor, {channel, p});
              return bb.extract(tensor, {p});
            };
            Value pos =
                searchNearest(
                    bb, x, count, [&](Value p) { return at(sorted.levels, p); },
                    args[1], args[2])
                    .second;
            // NaN has no nearest level: code 0, as the scan gives.
            Value isNaN = bb.cmpf(arith::CmpFPredicate::UNO, x, x);
            code = arith::IndexCastUIOp::create(
                bb.b, bb.loc, bb.b.getIndexType(),
                bb.select(isNaN, bb.i32(0), at(sorted.codes, pos)));
          } else if (!stochastic) {
            code = scanNearest(bb, x, count, levelOf, args[1], args[2]).second;
          } else {
            code = stochasticCode(bb, x, count, levelOf, seed, counter,
                                  linearIndexI32(bb, valuesType));
          }
          return arith::IndexCastUIOp::create(bb.b, bb.loc, codeType, code)
              .getResult();
        },
        ranges, axis);
    rewriter.replaceOp(op, result);
    return success();
  }

  /// Nearest rounding on a constant unipolar basis (an inference model's
  /// activations): the code is a step function of x whose thresholds are
  /// found at compile time (numerics::LevelTable::steps, bit-exact with the
  /// distance comparisons of the scan), so each element costs one compare
  /// and select per distinct level instead of a chain of distances.
  static LogicalResult lowerWithConstantSteps(ProjectOp op,
                                              PatternRewriter &rewriter) {
    DenseFPElementsAttr basisAttr;
    if (!matchPattern(op.getBasis(), m_Constant(&basisAttr)) ||
        !basisAttr.getElementType().isF32() || basisAttr.getNumElements() < 1 ||
        basisAttr.getNumElements() > int64_t(num::kMaxBits))
      return failure();
    std::vector<float> basis;
    for (APFloat v : basisAttr.getValues<APFloat>())
      basis.push_back(v.convertToFloat());
    num::LevelTable table(num::Encoding::Unipolar, basis.data(), basis.size());
    num::LevelTable::Steps steps = table.steps();
    Type codeType = op.getType().getElementType();
    Value result = elementwise(
        rewriter, op.getLoc(), op.getValues(), codeType,
        [&](BodyBuilder &bb, ValueRange args) {
          Value x = args[0];
          auto codeConstant = [&](uint32_t c) -> Value {
            return arith::ConstantOp::create(bb.b, bb.loc,
                                             bb.b.getIntegerAttr(codeType, c));
          };
          // Ascending thresholds: the last one <= x decides (NaN compares
          // false everywhere and takes code 0, as the scan gives).
          Value code = codeConstant(steps.codes[0]);
          for (size_t i = 0; i < steps.thresholds.size(); ++i)
            code = bb.select(bb.cmpf(arith::CmpFPredicate::OGE, x,
                                     bb.f32(steps.thresholds[i])),
                             codeConstant(steps.codes[i + 1]), code);
          if (steps.codes[0] != 0)
            code = bb.select(bb.cmpf(arith::CmpFPredicate::UNO, x, x),
                             codeConstant(0), code);
          return code;
        });
    rewriter.replaceOp(op, result);
    return success();
  }

  /// Two levels around x (lo <= x < hi, first code among equal levels), then
  /// up with probability (x - lo) / (hi - lo).
  static Value stochasticCode(BodyBuilder &bb, Value x, int64_t count,
                              function_ref<Value(Value)> levelOf, uint64_t seed,
                              Value counter, Value index) {
    Value inf = bb.f32(std::numeric_limits<float>::infinity());
    Value loL = bb.f32(-std::numeric_limits<float>::infinity());
    Value hiL = inf;
    Value loC = bb.idx(0), hiC = bb.idx(0);
    // Unrolled: count <= 256 codes; bodies are small.
    for (int64_t i = 0; i < count; ++i) {
      Value c = bb.idx(i);
      Value l = levelOf(c);
      Value isLo = bb.andi(bb.cmpf(arith::CmpFPredicate::OLE, l, x),
                           bb.cmpf(arith::CmpFPredicate::OGT, l, loL));
      Value isHi = bb.andi(bb.cmpf(arith::CmpFPredicate::OGT, l, x),
                           bb.cmpf(arith::CmpFPredicate::OLT, l, hiL));
      loL = bb.select(isLo, l, loL);
      loC = bb.select(isLo, c, loC);
      hiL = bb.select(isHi, l, hiL);
      hiC = bb.select(isHi, c, hiC);
    }
    Value noLo = bb.cmpf(arith::CmpFPredicate::OEQ, loL,
                         bb.f32(-std::numeric_limits<float>::infinity()));
    Value noHi = bb.cmpf(arith::CmpFPredicate::OEQ, hiL, inf);
    Value pUp = bb.divf(bb.subf(x, loL), bb.subf(hiL, loL));
    Value u = counterUniform(bb, seed, counter, index);
    Value up = bb.cmpf(arith::CmpFPredicate::OLT, u, pUp);
    Value chosen = bb.select(up, hiC, loC);
    chosen = bb.select(noHi, loC, chosen);
    return bb.select(noLo, hiC, chosen);
  }
};

struct FitLevelsLowering : OpRewritePattern<FitLevelsOp> {
  using OpRewritePattern::OpRewritePattern;

  /// Per-code weighted counts and weighted target sums by one sequential
  /// pass over the elements (f64 bins, per channel for bipolar fits). A code
  /// outside [0, count) adds +0.0 to bin 0, i.e. nothing, as in the generic
  /// form where no bin matches it.
  static std::pair<Value, Value>
  scatterHistograms(PatternRewriter &rewriter, Location loc, FitLevelsOp op,
                    Value zeroHist, int64_t count, bool perChannel) {
    auto codesType = op.getCodes().getType();
    int64_t axis = op.getAxis();
    SmallVector<Value> lbs, ubs, steps;
    for (int64_t size : codesType.getShape()) {
      lbs.push_back(arith::ConstantIndexOp::create(rewriter, loc, 0));
      ubs.push_back(arith::ConstantIndexOp::create(rewriter, loc, size));
      steps.push_back(arith::ConstantIndexOp::create(rewriter, loc, 1));
    }
    Value weights = op.getWeights();
    scf::LoopNest nest = scf::buildLoopNest(
        rewriter, loc, lbs, ubs, steps, ValueRange{zeroHist, zeroHist},
        [&](OpBuilder &nb, Location l, ValueRange ivs,
            ValueRange bins) -> scf::ValueVector {
          BodyBuilder bb{nb, l};
          Value code = arith::IndexCastUIOp::create(
              nb, l, nb.getIndexType(), bb.extract(op.getCodes(), ivs));
          Value valid = bb.cmpi(arith::CmpIPredicate::ult, code, bb.idx(count));
          code = bb.select(valid, code, bb.idx(0));
          Value t = arith::ExtFOp::create(nb, l, nb.getF64Type(),
                                          bb.extract(op.getTargets(), ivs));
          Value w =
              weights ? arith::ExtFOp::create(nb, l, nb.getF64Type(),
                                              bb.extract(weights, {ivs[axis]}))
                            .getResult()
                      : bb.f64(1.0);
          Value z = bb.f64(0.0);
          SmallVector<Value> bin;
          if (perChannel)
            bin.push_back(ivs[axis]);
          bin.push_back(code);
          Value addW = bb.select(valid, w, z);
          Value addT = bb.select(valid, bb.mulf(w, t), z);
          Value newW = tensor::InsertOp::create(
              nb, l, bb.addf(bb.extract(bins[0], bin), addW), bins[0], bin);
          Value newT = tensor::InsertOp::create(
              nb, l, bb.addf(bb.extract(bins[1], bin), addT), bins[1], bin);
          return {newW, newT};
        });
    return {nest.results[0], nest.results[1]};
  }

  LogicalResult matchAndRewrite(FitLevelsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Encoding encoding = op.getEncoding();
    bool perChannel = encoding == Encoding::Bipolar;
    auto codesType = op.getCodes().getType();
    auto prevType = op.getPrevious().getType();
    unsigned bits = bitsOfBasis(prevType, encoding);
    int64_t count = numCodes(bits);
    int64_t axis = op.getAxis();
    if (!codesType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Type f64 = rewriter.getF64Type();

    // 1. Per-code weighted counts and weighted target sums, in f64.
    unsigned rank = codesType.getRank();
    SmallVector<int64_t> histShape;
    if (perChannel)
      histShape.push_back(codesType.getDimSize(axis));
    histShape.push_back(count);
    Value zero =
        arith::ConstantOp::create(rewriter, loc, rewriter.getF64FloatAttr(0.0));
    Value empty = tensor::EmptyOp::create(rewriter, loc, histShape, f64);
    Value hist =
        linalg::FillOp::create(rewriter, loc, zero, empty).getResult(0);
    MLIRContext *ctx = rewriter.getContext();
    unsigned loopRank = rank + 1; // element dims + code dim
    SmallVector<AffineExpr> elementDims;
    for (unsigned d = 0; d < rank; ++d)
      elementDims.push_back(getAffineDimExpr(d, ctx));
    AffineExpr codeDim = getAffineDimExpr(rank, ctx);
    auto elementMap = AffineMap::get(loopRank, 0, elementDims, ctx);
    SmallVector<AffineExpr> histExprs;
    if (perChannel)
      histExprs.push_back(getAffineDimExpr(axis, ctx));
    histExprs.push_back(codeDim);
    auto histMap = AffineMap::get(loopRank, 0, histExprs, ctx);
    SmallVector<Value> inputs = {op.getCodes(), op.getTargets()};
    SmallVector<AffineMap> maps = {elementMap, elementMap};
    if (Value weights = op.getWeights()) {
      inputs.push_back(weights);
      maps.push_back(
          AffineMap::get(loopRank, 0, {getAffineDimExpr(axis, ctx)}, ctx));
    }
    maps.push_back(histMap);
    maps.push_back(histMap);
    SmallVector<utils::IteratorType> iterators(loopRank,
                                               utils::IteratorType::reduction);
    iterators[rank] = utils::IteratorType::parallel;
    if (perChannel)
      iterators[axis] = utils::IteratorType::parallel;
    bool hasWeights = static_cast<bool>(op.getWeights());
    Value weightHist, sumHist;
    if (count > kScanCodes) {
      // Above 16 codes the code loop costs O(N 2^K) (8-bit activations: 256
      // passes over each layer's activations); scattered instead, one pass
      // over the elements in row-major order adds each into its code's bin.
      // Each bin gets the same terms in the same order as the generic (whose
      // other terms are +0.0), so the sums are bit for bit the same.
      std::tie(weightHist, sumHist) =
          scatterHistograms(rewriter, loc, op, hist, count, perChannel);
    } else {
      auto histOp = linalg::GenericOp::create(
          rewriter, loc, TypeRange{hist.getType(), hist.getType()}, inputs,
          ValueRange{hist, hist}, maps, iterators,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            BodyBuilder bb{nb, nloc};
            Value code = arith::IndexCastUIOp::create(
                nb, nloc, nb.getIndexType(), args[0]);
            Value hit = bb.cmpi(arith::CmpIPredicate::eq, code, bb.index(rank));
            Value t = arith::ExtFOp::create(nb, nloc, nb.getF64Type(), args[1]);
            Value w =
                hasWeights
                    ? arith::ExtFOp::create(nb, nloc, nb.getF64Type(), args[2])
                          .getResult()
                    : bb.f64(1.0);
            Value accW = args[args.size() - 2], accT = args[args.size() - 1];
            Value z = bb.f64(0.0);
            Value newW = bb.addf(accW, bb.select(hit, w, z));
            Value newT = bb.addf(accT, bb.select(hit, bb.mulf(w, t), z));
            linalg::YieldOp::create(nb, nloc, ValueRange{newW, newT});
          });
      weightHist = histOp.getResult(0);
      sumHist = histOp.getResult(1);
    }
    // The fit of every process's elements: their histograms summed.
    if (op.getCrossReplica()) {
      SmallVector<Value> global = AllReduceOp::createJoint(
          rewriter, loc, {weightHist, sumHist}, Reduction::Sum);
      weightHist = global[0];
      sumHist = global[1];
    }

    // 2. One ridge-regularized K x K solve per fit, from the histograms.
    double ridge = op.getRidge().convertToDouble();
    Value previous = op.getPrevious();
    Value out = tensor::EmptyOp::create(rewriter, loc, prevType.getShape(),
                                        prevType.getElementType());
    unsigned outRank = prevType.getRank();
    SmallVector<AffineMap> outMaps = {rewriter.getMultiDimIdentityMap(outRank)};
    SmallVector<utils::IteratorType> outIters(outRank,
                                              utils::IteratorType::parallel);
    auto solve = linalg::GenericOp::create(
        rewriter, loc, prevType, ValueRange{}, ValueRange{out}, outMaps,
        outIters, [&](OpBuilder &nb, Location nloc, ValueRange) {
          BodyBuilder bb{nb, nloc};
          Value fit = perChannel ? bb.index(0) : Value();
          Value k = bb.index(outRank - 1);
          auto histAt = [&](Value hist, Value c) {
            return perChannel ? bb.extract(hist, {fit, c})
                              : bb.extract(hist, {c});
          };
          // Normal equations accumulated over codes in an scf.for.
          SmallVector<Value> init(bits * bits + bits, bb.f64(0.0));
          auto loop = scf::ForOp::create(
              nb, nloc, bb.idx(0), bb.idx(count), bb.idx(1), init,
              [&](OpBuilder &lb, Location lloc, Value c, ValueRange acc) {
                BodyBuilder ib{lb, lloc};
                Value wc = histAt(weightHist, c);
                Value sc = histAt(sumHist, c);
                Value code =
                    arith::IndexCastUIOp::create(lb, lloc, lb.getI32Type(), c);
                SmallVector<Value> s;
                for (unsigned i = 0; i < bits; ++i)
                  s.push_back(ib.codeCoefficient(code, i, encoding, f64));
                SmallVector<Value> next;
                for (unsigned i = 0; i < bits; ++i)
                  for (unsigned j = 0; j < bits; ++j)
                    next.push_back(ib.addf(acc[i * bits + j],
                                           ib.mulf(wc, ib.mulf(s[i], s[j]))));
                for (unsigned i = 0; i < bits; ++i)
                  next.push_back(
                      ib.addf(acc[bits * bits + i], ib.mulf(sc, s[i])));
                scf::YieldOp::create(lb, lloc, next);
              });
          SmallVector<Value> a(loop.getResults().begin(),
                               loop.getResults().begin() + bits * bits);
          SmallVector<Value> rhs(loop.getResults().begin() + bits * bits,
                                 loop.getResults().end());
          Value ridgeV = bb.f64(ridge);
          for (unsigned i = 0; i < bits; ++i) {
            a[i * bits + i] = bb.addf(a[i * bits + i], ridgeV);
            SmallVector<Value> at;
            if (perChannel)
              at.push_back(fit);
            at.push_back(bb.idx(i));
            Value prev = arith::ExtFOp::create(nb, nloc, nb.getF64Type(),
                                               bb.extract(previous, at));
            rhs[i] = bb.addf(rhs[i], bb.mulf(ridgeV, prev));
          }
          // Cholesky A = L L^T, then two triangular solves (as FitAccumulator).
          Value tiny = bb.f64(1e-300);
          for (unsigned j = 0; j < bits; ++j) {
            Value d = a[j * bits + j];
            for (unsigned p = 0; p < j; ++p)
              d = bb.subf(d, bb.mulf(a[j * bits + p], a[j * bits + p]));
            d = math::SqrtOp::create(
                nb, nloc, arith::MaximumFOp::create(nb, nloc, d, tiny));
            a[j * bits + j] = d;
            for (unsigned i = j + 1; i < bits; ++i) {
              Value s = a[i * bits + j];
              for (unsigned p = 0; p < j; ++p)
                s = bb.subf(s, bb.mulf(a[i * bits + p], a[j * bits + p]));
              a[i * bits + j] = bb.divf(s, d);
            }
          }
          SmallVector<Value> y(bits);
          for (unsigned i = 0; i < bits; ++i) {
            Value s = rhs[i];
            for (unsigned p = 0; p < i; ++p)
              s = bb.subf(s, bb.mulf(a[i * bits + p], y[p]));
            y[i] = bb.divf(s, a[i * bits + i]);
          }
          for (int i = static_cast<int>(bits) - 1; i >= 0; --i) {
            Value s = y[i];
            for (unsigned p = i + 1; p < bits; ++p)
              s = bb.subf(s, bb.mulf(a[p * bits + i], y[p]));
            y[i] = bb.divf(s, a[i * bits + i]);
          }
          Value chosen = y[0];
          for (unsigned i = 1; i < bits; ++i)
            chosen = bb.select(bb.cmpi(arith::CmpIPredicate::eq, k, bb.idx(i)),
                               y[i], chosen);
          linalg::YieldOp::create(
              nb, nloc,
              arith::TruncFOp::create(nb, nloc, prevType.getElementType(),
                                      chosen)
                  .getResult());
        });
    rewriter.replaceOp(op, solve.getResult(0));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Batch norm, loss, metrics, channel weights
//===----------------------------------------------------------------------===//

namespace tmath = ::mlir::dq::tensormath;

/// Per-channel mean of `x` over every dimension but `axis`; cross-replica,
/// over every process's batch (equal shares). The processes' sums are
/// all-reduced before the division by the count: a mean of rounded means
/// would round twice, and N processes would then not take exactly the step
/// of one process with their whole batch (docs/Runtime.md, "How exact").
Value channelMean(OpBuilder &b, Location loc, Value x, int64_t axis,
                  bool crossReplica) {
  auto type = cast<RankedTensorType>(x.getType());
  double count = static_cast<double>(type.getNumElements()) /
                 static_cast<double>(type.getDimSize(axis));
  Value sum = tmath::sumPerChannel(b, loc, x, axis);
  if (crossReplica)
    sum = AllReduceOp::create(b, loc, sum, Reduction::Mean);
  return tmath::scale(b, loc, sum, 1.0 / count);
}

/// (x - mean) * rsqrt(var + eps) * gamma + beta, per channel.
Value normalize(OpBuilder &b, Location loc, Value x, Value gamma, Value beta,
                Value mean, Value var, int64_t axis, double epsilon) {
  int64_t rank = tmath::shapeOf(x).size();
  SmallVector<Value> inputs = {x};
  for (Value v : {gamma, beta, mean, var})
    inputs.push_back(tmath::alongAxis(b, loc, v, axis, rank));
  return tmath::map(b, loc, inputs, cast<RankedTensorType>(x.getType()),
                    [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      Value eps = arith::ConstantOp::create(
                          nb, l, nb.getFloatAttr(a[0].getType(), epsilon));
                      Value inv = math::RsqrtOp::create(
                          nb, l, arith::AddFOp::create(nb, l, a[4], eps));
                      Value centered = arith::SubFOp::create(nb, l, a[0], a[3]);
                      Value scaled = arith::MulFOp::create(
                          nb, l, arith::MulFOp::create(nb, l, centered, inv),
                          a[1]);
                      return arith::AddFOp::create(nb, l, scaled, a[2]);
                    });
}

struct BatchNormLowering : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    rewriter.replaceOp(op, normalize(rewriter, op.getLoc(), op.getInput(),
                                     op.getGamma(), op.getBeta(), op.getMean(),
                                     op.getVar(), op.getAxis(),
                                     op.getEpsilon().convertToDouble()));
    return success();
  }
};

struct BatchNormTrainLowering : OpRewritePattern<BatchNormTrainOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormTrainOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getInput().getType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    Value x = op.getInput();
    int64_t axis = op.getAxis();
    int64_t rank = tmath::shapeOf(x).size();
    // Cross-replica: the mean over every process's batch, and the variance
    // centred on that global mean, likewise.
    bool global = op.getCrossReplica();
    Value mean = channelMean(rewriter, loc, x, axis, global);
    Value centered = tmath::sub(
        rewriter, loc, x, tmath::alongAxis(rewriter, loc, mean, axis, rank));
    Value var = channelMean(
        rewriter, loc, tmath::mul(rewriter, loc, centered, centered), axis,
        global);
    Value y = normalize(rewriter, loc, x, op.getGamma(), op.getBeta(), mean,
                        var, axis, op.getEpsilon().convertToDouble());
    rewriter.replaceOp(op, {y, mean, var});
    return success();
  }
};

struct SoftmaxCrossEntropyLowering : OpRewritePattern<SoftmaxCrossEntropyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxCrossEntropyOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = op.getLogits();
    auto type = op.getLogits().getType();
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    int64_t batch = type.getDimSize(0), classes = type.getDimSize(1);
    Value maxRow = tmath::rowMax(rewriter, loc, logits).first;
    Value shiftedExp =
        tmath::map(rewriter, loc, {logits, maxRow}, type,
                   [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     return math::ExpOp::create(
                         nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                   });
    Value sumRow = tmath::sumTo(rewriter, loc, shiftedExp, {batch, 1});
    Value labels = tmath::reshape(rewriter, loc, op.getLabels(), {batch, 1});
    // Per row: log(sum) + max - logits[label]; NaN for a label out of range.
    auto rowType = RankedTensorType::get({batch, 1}, rewriter.getF32Type());
    Value perRow = tmath::map(
        rewriter, loc, {sumRow, maxRow, labels}, rowType,
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value row = linalg::IndexOp::create(nb, l, 0);
          Value label = a[2];
          Value zero32 =
              arith::ConstantOp::create(nb, l, nb.getI32IntegerAttr(0));
          Value classesV = arith::ConstantOp::create(
              nb, l, nb.getI32IntegerAttr(static_cast<int32_t>(classes)));
          Value valid = arith::AndIOp::create(
              nb, l,
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, label,
                                    zero32),
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, label,
                                    classesV));
          Value safe = arith::SelectOp::create(nb, l, valid, label, zero32);
          Value column =
              arith::IndexCastOp::create(nb, l, nb.getIndexType(), safe);
          Value picked =
              tensor::ExtractOp::create(nb, l, logits, ValueRange{row, column});
          Value loss = arith::SubFOp::create(
              nb, l,
              arith::AddFOp::create(nb, l, math::LogOp::create(nb, l, a[0]),
                                    a[1]),
              picked);
          Value nan = arith::ConstantOp::create(
              nb, l,
              nb.getF32FloatAttr(std::numeric_limits<float>::quiet_NaN()));
          return arith::SelectOp::create(nb, l, valid, loss, nan);
        });
    Value total = tmath::sumTo(rewriter, loc, perRow, {});
    rewriter.replaceOp(op, tmath::scale(rewriter, loc, total, 1.0 / batch));
    return success();
  }
};

struct CountCorrectLowering : OpRewritePattern<CountCorrectOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CountCorrectOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = op.getLogits().getType();
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    int64_t batch = type.getDimSize(0);
    Value argmax = tmath::rowMax(rewriter, loc, op.getLogits()).second;
    Value labels = tmath::reshape(rewriter, loc, op.getLabels(), {batch, 1});
    MLIRContext *ctx = rewriter.getContext();
    auto scalar = RankedTensorType::get({}, rewriter.getI32Type());
    Value init = arith::ConstantOp::create(
        rewriter, loc, scalar,
        DenseElementsAttr::get(scalar, rewriter.getI32IntegerAttr(0)));
    auto count = linalg::GenericOp::create(
        rewriter, loc, scalar, ValueRange{argmax, labels}, ValueRange{init},
        ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(2),
                            rewriter.getMultiDimIdentityMap(2),
                            AffineMap::get(2, 0, {}, ctx)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::reduction,
                                      utils::IteratorType::reduction},
        [](OpBuilder &nb, Location l, ValueRange a) {
          Value hit = arith::ExtUIOp::create(
              nb, l, nb.getI32Type(),
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, a[0],
                                    a[1]));
          linalg::YieldOp::create(
              nb, l, arith::AddIOp::create(nb, l, a[2], hit).getResult());
        });
    rewriter.replaceOp(op, count.getResult(0));
    return success();
  }
};

struct ChannelWeightsLowering : OpRewritePattern<ChannelWeightsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ChannelWeightsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = op.getInput().getType();
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    int64_t axis = op.getAxis();
    int64_t channels = type.getDimSize(axis);
    double epsilon = op.getEpsilon().convertToDouble();
    double trim = op.getTrim().convertToDouble();
    bool global = op.getCrossReplica();
    Value energy =
        channelMean(rewriter, loc, tmath::mul(rewriter, loc, x, x), axis, global);
    auto channelType = RankedTensorType::get({channels}, type.getElementType());
    auto plusEps = [&](Value v) {
      return tmath::map(rewriter, loc, {v}, channelType,
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          Value eps = arith::ConstantOp::create(
                              nb, l, nb.getFloatAttr(a[0].getType(), epsilon));
                          return arith::AddFOp::create(nb, l, a[0], eps);
                        });
    };
    Value denom = plusEps(energy);
    Value inverse =
        tmath::map(rewriter, loc, {denom}, channelType,
                   [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     Value one = arith::ConstantOp::create(
                         nb, l, nb.getFloatAttr(a[0].getType(), 1.0));
                     return arith::DivFOp::create(nb, l, one, a[0]);
                   });
    // Normalize so the weights average 1.
    Value mean =
        tmath::scale(rewriter, loc, tmath::sumTo(rewriter, loc, inverse, {}),
                     1.0 / channels);
    Value weights =
        tmath::map(rewriter, loc, {inverse, mean}, channelType,
                   [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                     return arith::DivFOp::create(nb, l, a[0], a[1]);
                   });
    int64_t trimmed = static_cast<int64_t>(std::floor(trim * channels));
    if (trimmed > 0) {
      auto actConfig = ActQuantAttr::get(
          rewriter.getContext(), op.getBasis().getType().getDimSize(0),
          ActScheme::DQ, ChannelWeighting::Energy, APFloat(0.0));
      Value quantized = QuantizeActOp::create(
          rewriter, loc, type, x, op.getBasis(), op.getAxisAttr(), actConfig);
      Value diff = tmath::sub(rewriter, loc, x, quantized);
      Value error = channelMean(
          rewriter, loc, tmath::mul(rewriter, loc, diff, diff), axis, global);
      Value relative =
          tmath::map(rewriter, loc, {error, denom}, channelType,
                     [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       return arith::DivFOp::create(nb, l, a[0], a[1]);
                     });
      // rank(c) = #{c' : e(c') > e(c) or (e(c') == e(c) and c' < c)}; the
      // channels ranked below `trimmed` leave the fit.
      MLIRContext *ctx = rewriter.getContext();
      auto rankType = RankedTensorType::get({channels}, rewriter.getI64Type());
      Value rankInit = arith::ConstantOp::create(
          rewriter, loc, rankType,
          DenseElementsAttr::get(rankType, rewriter.getI64IntegerAttr(0)));
      auto d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
      auto ranks = linalg::GenericOp::create(
          rewriter, loc, rankType, ValueRange{relative, relative},
          ValueRange{rankInit},
          ArrayRef<AffineMap>{AffineMap::get(2, 0, {d0}, ctx),
                              AffineMap::get(2, 0, {d1}, ctx),
                              AffineMap::get(2, 0, {d0}, ctx)},
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                        utils::IteratorType::reduction},
          [](OpBuilder &nb, Location l, ValueRange a) {
            Value self = linalg::IndexOp::create(nb, l, 0);
            Value other = linalg::IndexOp::create(nb, l, 1);
            Value larger = arith::CmpFOp::create(
                nb, l, arith::CmpFPredicate::OGT, a[1], a[0]);
            Value tieBefore = arith::AndIOp::create(
                nb, l,
                arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, a[1],
                                      a[0]),
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, other,
                                      self));
            Value above = arith::ExtUIOp::create(
                nb, l, nb.getI64Type(),
                arith::OrIOp::create(nb, l, larger, tieBefore));
            linalg::YieldOp::create(
                nb, l, arith::AddIOp::create(nb, l, a[2], above).getResult());
          });
      weights = tmath::map(
          rewriter, loc, {weights, ranks.getResult(0)}, channelType,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value cut =
                arith::ConstantOp::create(nb, l, nb.getI64IntegerAttr(trimmed));
            Value keep = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge,
                                               a[1], cut);
            Value zero = arith::ConstantOp::create(
                nb, l, nb.getFloatAttr(a[0].getType(), 0.0));
            return arith::SelectOp::create(nb, l, keep, a[0], zero);
          });
    }
    rewriter.replaceOp(op, weights);
    return success();
  }
};

struct ConvertDQToLinalgPass
    : public mlir::dq::impl::ConvertDQToLinalgBase<ConvertDQToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    int64_t vectorBits = bitserialVectorBits;
    int64_t vectorRegisters = bitserialVectorRegisters;
    if (vectorBits < 128 || vectorBits % 64 != 0 || vectorRegisters < 8) {
      emitError(getOperation()->getLoc())
          << "convert-dq-to-linalg: bitserial-vector-bits must be a multiple "
             "of 64 and at least 128 (got "
          << vectorBits << "), bitserial-vector-registers at least 8 (got "
          << vectorRegisters << ")";
      return signalPassFailure();
    }
    if (bitserialByteCounts && !x86ByteSumForm(vectorBits)) {
      emitError(getOperation()->getLoc())
          << "convert-dq-to-linalg: bitserial-byte-counts needs x86 vectors "
             "of 128, 256 or 512 bits (got bitserial-vector-bits="
          << vectorBits << ")";
      return signalPassFailure();
    }
    BitSerialLowering bitSerial;
    bitSerial.rows = bitserialRows;
    bitSerial.vectorBits = vectorBits;
    bitSerial.vectorRegisters = vectorRegisters;
    bitSerial.byteCounts = bitserialByteCounts;
    populateDQToLinalgConversionPatterns(patterns, bitSerial);
    // Lowering only: folding constants is the canonicalizer's job, and
    // keeping it out lets tests compare compiled code against the folds.
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
    WalkResult remaining = getOperation()->walk([](Operation *op) {
      // dq.all_reduce stays: it bufferizes to a call of the model library.
      if (isa<DQDialect>(op->getDialect()) && !isa<AllReduceOp>(op)) {
        op->emitError() << "convert-dq-to-linalg could not lower this op";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (remaining.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

void mlir::dq::populateDQToLinalgConversionPatterns(
    RewritePatternSet &patterns, const BitSerialLowering &bitSerial) {
  patterns.add<DecodeWeightsLowering, QuantizeActLowering, ProjectLowering,
               FitLevelsLowering, BatchNormLowering, BatchNormTrainLowering,
               SoftmaxCrossEntropyLowering, CountCorrectLowering,
               ChannelWeightsLowering>(patterns.getContext());
  populateBitSerialToLinalgPatterns(patterns, bitSerial);
}
