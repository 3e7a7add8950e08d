//===- DQGradients.cpp - reverse-mode rules of dq ops ---------------------===//

#include "dialects/dq/DQOps.h"
#include "dq/Training/TensorMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::dq;

LogicalResult DecodeWeightsOp::buildGradients(OpBuilder &,
                                              ValueRange, ArrayRef<bool>,
                                              SmallVectorImpl<Value> &grads) {
  // Codes and basis are refitted by the weight update, not descended.
  grads.assign(getOperation()->getNumOperands(), Value());
  return success();
}

LogicalResult QuantizeActOp::buildGradients(OpBuilder &b,
                                            ValueRange resultGrads,
                                            ArrayRef<bool> needed,
                                            SmallVectorImpl<Value> &grads) {
  grads.assign(getOperation()->getNumOperands(), Value());
  if (!needed[0])
    return success();
  // Clipped straight-through: pass where x <= the top level, the sum of the
  // positive basis values.
  Location loc = getLoc();
  auto basisType = getBasis().getType();
  Value positive = math::map(
      b, loc, {getBasis()}, basisType,
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value zero = arith::ConstantOp::create(
            nb, l, nb.getFloatAttr(a[0].getType(), 0.0));
        return arith::MaximumFOp::create(nb, l, a[0], zero);
      });
  Value top = math::sumTo(b, loc, positive, {});
  grads[0] = math::map(
      b, loc, {getInput(), resultGrads[0], top}, getInput().getType(),
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value pass = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLE,
                                           a[0], a[2]);
        Value zero = arith::ConstantOp::create(
            nb, l, nb.getFloatAttr(a[0].getType(), 0.0));
        return arith::SelectOp::create(nb, l, pass, a[1], zero);
      });
  return success();
}
