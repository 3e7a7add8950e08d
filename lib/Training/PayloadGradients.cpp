//===- PayloadGradients.cpp - rules of linalg ops with a scalar payload ---===//
//
// The reverse-mode rules of linalg.generic and linalg.reduce: what upstream
// tosa-to-linalg emits for elementwise ops (bias adds, ReLU/clamp, residual
// adds, the division of average pooling), broadcasts (a bias into a
// convolution's init) and sums. The payload is differentiated symbolically:
// for each operand that needs a gradient, one generic over the op's loops
// recomputes the payload, forms its derivative with respect to that
// operand's block argument and accumulates `dy * derivative` into the
// operand's shape through the operand's own indexing map; loops the map
// drops are reductions, so a broadcast operand gets the sum it needs.
// Reduction loops are accepted when each result accumulates additively
// (`out + f(ins)`): the init's gradient is then the output gradient.
//
// Derivatives of the payload ops: addf, subf, negf, mulf, divf, maximumf /
// minimumf / maxnumf / minnumf (the larger / smaller operand takes the
// gradient; on a tie with a value that does not depend on the operand, as
// ReLU's max(x, 0) at 0, none passes, as tosa.clamp's rule and PyTorch's
// relu; a tie of two dependent values splits it), select, exp, log, sqrt,
// rsqrt, tanh, absf, extf and truncf; comparisons, integer and index
// arithmetic and conversions from integers carry no gradient. Any other op
// between an operand and a result is an error naming it.
//
//===----------------------------------------------------------------------===//

#include "GradientRule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::dq;

namespace {

/// Builds tangents d v / d seed of the payload values cloned into a
/// gradient generic; a null tangent is structurally zero.
class PayloadTangents {
public:
  PayloadTangents(OpBuilder &b, Location loc, Value seed)
      : b(b), loc(loc), seed(seed) {}

  /// The tangent of `v`, a value of the cloned payload; failure (with an
  /// error at `diagOp`) for an op without a derivative.
  FailureOr<Value> of(Value v, Operation *diagOp);

private:
  Value constant(Type t, double value) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, value));
  }
  Value zeroIfNull(Value t, Type type) { return t ? t : constant(type, 0.0); }
  Value add(Value x, Value y) {
    if (!x)
      return y;
    if (!y)
      return x;
    return arith::AddFOp::create(b, loc, x, y);
  }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  FailureOr<Value> derive(Operation *op, ArrayRef<Value> ts, Operation *diag);
  Value extremum(Value a, Value c, Value ta, Value tc, bool larger);

  OpBuilder &b;
  Location loc;
  Value seed;
  DenseMap<Value, Value> memo;
};

FailureOr<Value> PayloadTangents::of(Value v, Operation *diagOp) {
  if (v == seed)
    return constant(v.getType(), 1.0);
  if (auto it = memo.find(v); it != memo.end())
    return it->second;
  Operation *op = v.getDefiningOp();
  // Block arguments other than the seed, and values from above.
  if (!op)
    return Value();
  SmallVector<Value> ts;
  bool any = false;
  for (Value operand : op->getOperands()) {
    FailureOr<Value> t = of(operand, diagOp);
    if (failed(t))
      return failure();
    ts.push_back(*t);
    any |= static_cast<bool>(*t);
  }
  FailureOr<Value> result = Value();
  if (any)
    result = derive(op, ts, diagOp);
  if (failed(result))
    return failure();
  memo[v] = *result;
  return *result;
}

/// max (larger) or min of a and c.
Value PayloadTangents::extremum(Value a, Value c, Value ta, Value tc,
                                bool larger) {
  auto pred = larger ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT;
  Type type = a.getType();
  Value aWins = arith::CmpFOp::create(b, loc, pred, a, c);
  Value cWins = arith::CmpFOp::create(b, loc, pred, c, a);
  Value tie = constant(type, 0.0);
  if (ta && tc)
    tie = mul(add(ta, tc), constant(type, 0.5));
  Value otherwise =
      arith::SelectOp::create(b, loc, cWins, zeroIfNull(tc, type), tie);
  return arith::SelectOp::create(b, loc, aWins, zeroIfNull(ta, type),
                                 otherwise);
}

FailureOr<Value> PayloadTangents::derive(Operation *op, ArrayRef<Value> ts,
                                         Operation *diag) {
  // Results that are not floats (comparisons, integer arithmetic) carry no
  // gradient; neither do conversions from integers.
  if (op->getNumResults() != 1 ||
      !isa<FloatType>(op->getResult(0).getType()))
    return Value();
  if (isa<arith::SIToFPOp, arith::UIToFPOp, arith::ConstantOp>(op))
    return Value();
  Value r = op->getResult(0);
  Type type = r.getType();
  auto operand = [&](unsigned i) { return op->getOperand(i); };
  auto neg = [&](Value x) -> Value {
    return x ? arith::NegFOp::create(b, loc, x).getResult() : Value();
  };
  return llvm::TypeSwitch<Operation *, FailureOr<Value>>(op)
      .Case([&](arith::AddFOp) -> Value { return add(ts[0], ts[1]); })
      .Case([&](arith::SubFOp) -> Value { return add(ts[0], neg(ts[1])); })
      .Case([&](arith::NegFOp) -> Value { return neg(ts[0]); })
      .Case([&](arith::MulFOp) -> Value {
        return add(ts[0] ? mul(ts[0], operand(1)) : Value(),
                   ts[1] ? mul(operand(0), ts[1]) : Value());
      })
      .Case([&](arith::DivFOp) -> Value {
        // d(a / c) = (da - (a / c) dc) / c; with c fixed, da / c.
        Value num = add(ts[0], ts[1] ? neg(mul(r, ts[1])) : Value());
        return arith::DivFOp::create(b, loc, num, operand(1));
      })
      .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](Operation *) -> Value {
        return extremum(operand(0), operand(1), ts[0], ts[1], true);
      })
      .Case<arith::MinimumFOp, arith::MinNumFOp>([&](Operation *) -> Value {
        return extremum(operand(0), operand(1), ts[0], ts[1], false);
      })
      .Case([&](arith::SelectOp) -> Value {
        if (!ts[1] && !ts[2])
          return Value();
        return arith::SelectOp::create(b, loc, operand(0),
                                       zeroIfNull(ts[1], type),
                                       zeroIfNull(ts[2], type));
      })
      .Case([&](arith::ExtFOp) -> Value {
        return arith::ExtFOp::create(b, loc, type, ts[0]);
      })
      .Case([&](arith::TruncFOp) -> Value {
        return arith::TruncFOp::create(b, loc, type, ts[0]);
      })
      .Case([&](math::ExpOp) -> Value { return mul(ts[0], r); })
      .Case([&](math::LogOp) -> Value {
        return arith::DivFOp::create(b, loc, ts[0], operand(0));
      })
      .Case([&](math::SqrtOp) -> Value {
        // d sqrt(a) = da / (2 sqrt(a)).
        return arith::DivFOp::create(b, loc, ts[0],
                                     mul(constant(type, 2.0), r));
      })
      .Case([&](math::RsqrtOp) -> Value {
        // d a^(-1/2) = -1/2 a^(-3/2) da = -1/2 r^3 da.
        Value r3 = mul(mul(r, r), r);
        return mul(mul(constant(type, -0.5), r3), ts[0]);
      })
      .Case([&](math::TanhOp) -> Value {
        Value one = constant(type, 1.0);
        return mul(ts[0], arith::SubFOp::create(b, loc, one, mul(r, r)));
      })
      .Case([&](math::AbsFOp) -> Value {
        Value negative = arith::CmpFOp::create(
            b, loc, arith::CmpFPredicate::OLT, operand(0), constant(type, 0));
        return arith::SelectOp::create(b, loc, negative, neg(ts[0]), ts[0]);
      })
      .Default([&](Operation *) -> FailureOr<Value> {
        return diag->emitError()
               << "gradient of '" << diag->getName() << "': no derivative of '"
               << op->getName() << "' in its body";
      });
}

/// The rule of a linalg op whose payload is a scalar function of its
/// operands' elements (generic, reduce).
template <typename OpTy>
struct PayloadRule : gradient_rules::Rule<PayloadRule<OpTy>, OpTy> {
  static LogicalResult checkOp(Operation *op) {
    auto linalgOp = cast<linalg::LinalgOp>(op);
    if (!linalgOp.hasPureTensorSemantics() ||
        !llvm::all_of(op->getOperandTypes(),
                      [](Type t) {
                        auto ranked = dyn_cast<RankedTensorType>(t);
                        return ranked && ranked.hasStaticShape();
                      }))
      return op->emitError() << "gradient of '" << op->getName()
                             << "' needs tensors of static shapes";
    for (AffineMap map : linalgOp.getIndexingMapsArray())
      if (!map.isProjectedPermutation(/*allowZeroInResults=*/true)) {
        std::string text;
        llvm::raw_string_ostream(text) << map;
        return op->emitError()
               << "gradient of '" << op->getName()
               << "' needs projected-permutation indexing maps, got " << text;
      }
    // A float from above would get no gradient; index arithmetic from
    // above (tosa-to-linalg's average-pool counts) and constants carry none.
    WalkResult captured = op->getRegion(0).walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        if (!op->getRegion(0).isAncestor(v.getParentRegion()) &&
            isa<FloatType>(getElementTypeOrSelf(v.getType())) &&
            !matchPattern(v, m_Constant()))
          return WalkResult::interrupt();
      return WalkResult::advance();
    });
    if (captured.wasInterrupted())
      return op->emitError() << "gradient of '" << op->getName()
                             << "' needs a body whose float values come "
                                "from its block arguments or constants";
    return success();
  }

  LogicalResult grad(OpTy op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    auto linalgOp = cast<linalg::LinalgOp>(op.getOperation());
    Block *body = linalgOp.getBlock();
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
    SmallVector<utils::IteratorType> iterators =
        linalgOp.getIteratorTypesArray();
    bool reduces = llvm::any_of(iterators, [](utils::IteratorType t) {
      return t == utils::IteratorType::reduction;
    });
    unsigned numInputs = linalgOp.getNumDpsInputs();
    unsigned numOperands = op->getNumOperands();

    // With reduction loops, result j must be out_j + f_j(ins): the gradient
    // of f_j's terms is the same as a parallel op's, and out_j's is dy_j.
    SmallVector<Value> yielded(yield.getOperands());
    if (reduces) {
      for (auto [j, value] : llvm::enumerate(yield.getOperands())) {
        BlockArgument out =
            linalgOp.getMatchingBlockArgument(linalgOp.getDpsInitOperand(j));
        auto sum = dyn_cast_or_null<arith::AddFOp>(Value(value).getDefiningOp());
        Value term;
        if (sum && sum.getLhs() == out)
          term = sum.getRhs();
        else if (sum && sum.getRhs() == out)
          term = sum.getLhs();
        if (!term || !out.hasOneUse())
          return op->emitError()
                 << "gradient of '" << op->getName()
                 << "' with reduction loops needs each result to be its "
                    "init plus a term of the inputs (a sum)";
        yielded[j] = term;
      }
    }

    Location loc = op.getLoc();
    unsigned numLoops = linalgOp.getNumLoops();
    for (unsigned i = 0; i < numOperands; ++i) {
      if (!needed[i])
        continue;
      OpOperand &target = op->getOpOperand(i);
      bool isInit = i >= numInputs;
      if (reduces && isInit) {
        grads[i] = dys[i - numInputs];
        continue;
      }
      BlockArgument seed = linalgOp.getMatchingBlockArgument(&target);
      if (!seed || seed.use_empty())
        continue; // the payload never reads it (a parallel op's init)

      // ins: every operand, then each result's gradient; outs: zeros of the
      // operand's shape, written through the operand's map.
      SmallVector<Value> ins(op->getOperands());
      SmallVector<AffineMap> newMaps(maps);
      SmallVector<std::pair<unsigned, unsigned>> dyArgs; // (result, argument)
      for (auto [j, dy] : llvm::enumerate(dys)) {
        if (!dy)
          continue;
        dyArgs.push_back({j, ins.size()});
        ins.push_back(dy);
        newMaps.push_back(maps[numInputs + j]);
      }
      AffineMap targetMap = maps[i];
      newMaps.push_back(targetMap);
      SmallVector<utils::IteratorType> newIterators(
          numLoops, utils::IteratorType::reduction);
      for (AffineExpr e : targetMap.getResults())
        if (auto dim = dyn_cast<AffineDimExpr>(e))
          newIterators[dim.getPosition()] = utils::IteratorType::parallel;
      auto type = cast<RankedTensorType>(target.get().getType());
      Value zeros = tensormath::splat(b, loc, type, 0.0);

      LogicalResult built = success();
      auto generic = linalg::GenericOp::create(
          b, loc, type, ins, ValueRange{zeros}, newMaps, newIterators,
          [&](OpBuilder &nb, Location l, ValueRange args) {
            IRMapping mapping;
            for (OpOperand &operand : op->getOpOperands())
              if (BlockArgument arg =
                      linalgOp.getMatchingBlockArgument(&operand))
                mapping.map(arg, args[operand.getOperandNumber()]);
            for (Operation &inner : body->without_terminator())
              nb.clone(inner, mapping);
            PayloadTangents tangents(nb, l, mapping.lookup(seed));
            Value acc = args.back();
            for (auto [j, arg] : dyArgs) {
              FailureOr<Value> t =
                  tangents.of(mapping.lookupOrDefault(yielded[j]), op);
              if (failed(t)) {
                built = failure();
                break;
              }
              if (*t)
                acc = arith::AddFOp::create(
                    nb, l, acc, arith::MulFOp::create(nb, l, args[arg], *t));
            }
            linalg::YieldOp::create(nb, l, acc);
          });
      if (failed(built)) {
        generic.erase();
        return failure();
      }
      grads[i] = generic.getResult(0);
    }
    return success();
  }
};

} // namespace

void gradient_rules::attachPayloadRules(MLIRContext *ctx) {
  linalg::GenericOp::attachInterface<PayloadRule<linalg::GenericOp>>(*ctx);
  linalg::ReduceOp::attachInterface<PayloadRule<linalg::ReduceOp>>(*ctx);
}
