//===- GradientRule.cpp - helpers shared by the gradient rules ------------===//
//
// The linalg building blocks of the convolution, pooling and contraction
// adjoints of TosaGradients.cpp and LinalgGradients.cpp.
//
//===----------------------------------------------------------------------===//

#include "GradientRule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::dq;

Value gradient_rules::sumOfProducts(OpBuilder &b, Location loc, Value x,
                                    AffineMap xMap, Value y, AffineMap yMap,
                                    AffineMap outMap,
                                    ArrayRef<int64_t> outShape) {
  unsigned numDims = outMap.getNumDims();
  SmallVector<utils::IteratorType> iterators(numDims,
                                             utils::IteratorType::reduction);
  for (AffineExpr e : outMap.getResults())
    if (auto dim = dyn_cast<AffineDimExpr>(e))
      iterators[dim.getPosition()] = utils::IteratorType::parallel;
  Type element = cast<RankedTensorType>(x.getType()).getElementType();
  auto type = RankedTensorType::get(outShape, element);
  Value init = tensormath::splat(b, loc, type, 0.0);
  auto generic = linalg::GenericOp::create(
      b, loc, type, ValueRange{x, y}, ValueRange{init},
      ArrayRef<AffineMap>{xMap, yMap, outMap}, iterators,
      [](OpBuilder &nb, Location l, ValueRange a) {
        Value p = arith::MulFOp::create(nb, l, a[0], a[1]);
        linalg::YieldOp::create(
            nb, l, arith::AddFOp::create(nb, l, a[2], p).getResult());
      });
  return generic.getResult(0);
}

Value gradient_rules::spreadOutputGrad(OpBuilder &b, Location loc, Value dy,
                                       const Window &w, int64_t paddedH,
                                       int64_t paddedW) {
  // Dims 1 and 2 are spatial; a depthwise multiplier adds a fifth dim.
  ArrayRef<int64_t> s = tensormath::shapeOf(dy);
  SmallVector<int64_t> stride(s.size(), 1), low(s.size(), 0), high(s.size(), 0);
  stride[1] = w.sh;
  stride[2] = w.sw;
  low[1] = w.extentH();
  low[2] = w.extentW();
  // Input rows past the last window get zeros.
  high[1] = paddedH - (s[1] - 1) * w.sh - 1;
  high[2] = paddedW - (s[2] - 1) * w.sw - 1;
  return tensormath::padZeros(b, loc, tensormath::dilate(b, loc, dy, stride),
                              low, high);
}

Value gradient_rules::flipKernel(OpBuilder &b, Location loc, Value x,
                                 unsigned dimA, unsigned dimB) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = tensormath::shapeOf(x);
  SmallVector<AffineExpr> exprs;
  for (unsigned i = 0; i < shape.size(); ++i) {
    AffineExpr dim = getAffineDimExpr(i, ctx);
    exprs.push_back(i == dimA || i == dimB
                        ? getAffineConstantExpr(shape[i] - 1, ctx) - dim
                        : dim);
  }
  auto type = cast<RankedTensorType>(x.getType());
  Value init = tensor::EmptyOp::create(b, loc, shape, type.getElementType());
  SmallVector<utils::IteratorType> iterators(shape.size(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{x}, ValueRange{init},
             ArrayRef<AffineMap>{AffineMap::get(shape.size(), 0, exprs, ctx),
                                 b.getMultiDimIdentityMap(shape.size())},
             iterators,
             [](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(nb, l, a[0]);
             })
      .getResult(0);
}

Value gradient_rules::windowPositions(OpBuilder &b, Location loc, Type element,
                                      int64_t kh, int64_t kw, bool flipped) {
  SmallVector<Attribute> values;
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j)
      values.push_back(b.getFloatAttr(
          element, flipped ? (kh - 1 - i) * kw + (kw - 1 - j) : i * kw + j));
  auto type = RankedTensorType::get({kh, kw}, element);
  return arith::ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, values));
}
