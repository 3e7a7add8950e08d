//===- DQGradients.cpp - reverse-mode rules of dq ops ---------------------===//

#include "dialects/dq/DQOps.h"
#include "dq/Interfaces/TensorMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::dq;

LogicalResult DecodeWeightsOp::buildGradients(OpBuilder &, ValueRange,
                                              ArrayRef<bool>,
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
  Value positive =
      tensormath::map(b, loc, {getBasis()}, basisType,
                      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        Value zero = arith::ConstantOp::create(
                            nb, l, nb.getFloatAttr(a[0].getType(), 0.0));
                        return arith::MaximumFOp::create(nb, l, a[0], zero);
                      });
  Value top = tensormath::sumTo(b, loc, positive, {});
  grads[0] = tensormath::map(
      b, loc, {getInput(), resultGrads[0], top}, getInput().getType(),
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value pass =
            arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLE, a[0], a[2]);
        Value zero = arith::ConstantOp::create(
            nb, l, nb.getFloatAttr(a[0].getType(), 0.0));
        return arith::SelectOp::create(nb, l, pass, a[1], zero);
      });
  return success();
}

LogicalResult BatchNormTrainOp::buildGradients(OpBuilder &b,
                                               ValueRange resultGrads,
                                               ArrayRef<bool> needed,
                                               SmallVectorImpl<Value> &grads) {
  grads.assign(getOperation()->getNumOperands(), Value());
  if (resultGrads[1] || resultGrads[2])
    return emitOpError("gradients through the batch statistics results are "
                       "not supported");
  Location loc = getLoc();
  int64_t axis = getAxis();
  auto type = getInput().getType();
  int64_t rank = type.getRank();
  double count = static_cast<double>(type.getNumElements()) /
                 static_cast<double>(type.getDimSize(axis));
  double epsilon = getEpsilon().convertToDouble();
  Value dy = resultGrads[0];
  // x_hat = (x - mean) / sqrt(var + eps), recomputed from the results.
  Value invStd =
      tensormath::map(b, loc, {getBatchVar()}, getBatchVar().getType(),
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        Value eps = arith::ConstantOp::create(
                            nb, l, nb.getFloatAttr(a[0].getType(), epsilon));
                        return math::RsqrtOp::create(
                            nb, l, arith::AddFOp::create(nb, l, a[0], eps));
                      });
  Value meanB = tensormath::alongAxis(b, loc, getBatchMean(), axis, rank);
  Value invStdB = tensormath::alongAxis(b, loc, invStd, axis, rank);
  Value xHat = tensormath::mul(
      b, loc, tensormath::sub(b, loc, getInput(), meanB), invStdB);
  Value sumDy = tensormath::sumPerChannel(b, loc, dy, axis);
  Value sumDyXHat = tensormath::sumPerChannel(
      b, loc, tensormath::mul(b, loc, dy, xHat), axis);
  // gamma and beta get this process's share; the training graph reduces
  // parameter gradients over the processes itself.
  if (needed[2])
    grads[2] = sumDy;
  if (needed[1])
    grads[1] = sumDyXHat;
  if (needed[0]) {
    // dx = gamma * inv_std * (dy - mean(dy) - x_hat * mean(dy * x_hat)),
    // the means over the whole (cross-replica: every process's) batch. The
    // sums are all-reduced before the division by the count, which then
    // rounds once, as in one process with the whole batch.
    Value globalDy = sumDy, globalDyXHat = sumDyXHat;
    if (getCrossReplica()) {
      SmallVector<Value> global = AllReduceOp::createJoint(
          b, loc, {sumDy, sumDyXHat}, Reduction::Mean);
      globalDy = global[0];
      globalDyXHat = global[1];
    }
    Value meanDy = tensormath::scale(b, loc, globalDy, 1.0 / count);
    Value meanDyXHat = tensormath::scale(b, loc, globalDyXHat, 1.0 / count);
    meanDy = tensormath::alongAxis(b, loc, meanDy, axis, rank);
    meanDyXHat = tensormath::alongAxis(b, loc, meanDyXHat, axis, rank);
    Value scaleB = tensormath::alongAxis(
        b, loc, tensormath::mul(b, loc, getGamma(), invStd), axis, rank);
    Value centered =
        tensormath::sub(b, loc, tensormath::sub(b, loc, dy, meanDy),
                        tensormath::mul(b, loc, xHat, meanDyXHat));
    grads[0] = tensormath::mul(b, loc, centered, scaleB);
  }
  return success();
}

LogicalResult
SoftmaxCrossEntropyOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &grads) {
  grads.assign(getOperation()->getNumOperands(), Value());
  if (!needed[0])
    return success();
  Location loc = getLoc();
  auto type = getLogits().getType();
  int64_t batch = type.getDimSize(0);
  // Row max and sum of exponentials, then (softmax - onehot) * dloss / N.
  Value rowMax = tensormath::rowMax(b, loc, getLogits()).first;
  Value shiftedExp =
      tensormath::map(b, loc, {getLogits(), rowMax}, type,
                      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        return math::ExpOp::create(
                            nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                      });
  Value rowSum = tensormath::sumTo(b, loc, shiftedExp, {batch, 1});
  Value scale = tensormath::scale(b, loc, resultGrads[0], 1.0 / batch);
  Value labels = tensormath::reshape(b, loc, getLabels(), {batch, 1});
  grads[0] = tensormath::map(
      b, loc, {shiftedExp, rowSum, labels, scale}, type,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value softmax = arith::DivFOp::create(nb, l, a[0], a[1]);
        Value column = arith::IndexCastOp::create(
            nb, l, nb.getI32Type(), linalg::IndexOp::create(nb, l, 1));
        Value isLabel = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                              column, a[2]);
        Value one = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1.0));
        Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0.0));
        Value onehot = arith::SelectOp::create(nb, l, isLabel, one, zero);
        return arith::MulFOp::create(
            nb, l, arith::SubFOp::create(nb, l, softmax, onehot), a[3]);
      });
  return success();
}

LogicalResult AllReduceOp::buildGradients(OpBuilder &b, ValueRange resultGrads,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  // For a loss summed over the processes, every process's input reaches
  // every process's result: the same all-reduce of the result gradients.
  grads.assign(1, Value());
  if (needed[0] && resultGrads[0])
    grads[0] = AllReduceOp::create(b, getLoc(), resultGrads[0], getReduction());
  return success();
}

SmallVector<Value> AllReduceOp::createJoint(OpBuilder &b, Location loc,
                                            ValueRange values,
                                            Reduction reduction) {
  if (values.size() == 1)
    return {AllReduceOp::create(b, loc, values[0], reduction)};
  Type element = cast<RankedTensorType>(values[0].getType()).getElementType();
  int64_t total = 0;
  for (Value v : values)
    total += cast<RankedTensorType>(v.getType()).getNumElements();
  Value joint = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{total},
                                        element);
  int64_t offset = 0;
  for (Value v : values) {
    int64_t n = cast<RankedTensorType>(v.getType()).getNumElements();
    Value flat = tensormath::reshape(b, loc, v, {n});
    joint = tensor::InsertSliceOp::create(
        b, loc, flat, joint, ArrayRef<OpFoldResult>{b.getIndexAttr(offset)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(n)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    offset += n;
  }
  Value reduced = AllReduceOp::create(b, loc, joint, reduction);
  SmallVector<Value> results;
  offset = 0;
  for (Value v : values) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t n = type.getNumElements();
    Value piece = tensor::ExtractSliceOp::create(
        b, loc, reduced, ArrayRef<OpFoldResult>{b.getIndexAttr(offset)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(n)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    results.push_back(tensormath::reshape(b, loc, piece, type.getShape()));
    offset += n;
  }
  return results;
}
