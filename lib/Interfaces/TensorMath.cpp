//===- TensorMath.cpp - tensor helpers for gradient rules -----------------===//

#include "dq/Interfaces/TensorMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::dq;

ArrayRef<int64_t> tensormath::shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

static RankedTensorType withShape(Value like, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(
      shape, cast<RankedTensorType>(like.getType()).getElementType());
}

Value tensormath::splat(OpBuilder &b, Location loc, RankedTensorType type,
                        double value) {
  Attribute element = b.getFloatAttr(type.getElementType(), value);
  return arith::ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, element));
}

Value tensormath::zerosLike(OpBuilder &b, Location loc, Value like) {
  return splat(b, loc, cast<RankedTensorType>(like.getType()), 0.0);
}

/// Map from the result's iteration space to an input of `shape`: a size-1
/// dimension where the result is larger broadcasts (constant 0).
static AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> shape,
                              ArrayRef<int64_t> resultShape) {
  unsigned rank = resultShape.size();
  if (shape.empty())
    return AffineMap::get(rank, 0, {}, ctx);
  assert(shape.size() == rank && "broadcast needs equal ranks");
  SmallVector<AffineExpr> exprs;
  for (unsigned d = 0; d < rank; ++d)
    exprs.push_back(shape[d] == 1 && resultShape[d] != 1
                        ? getAffineConstantExpr(0, ctx)
                        : getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value tensormath::map(OpBuilder &b, Location loc, ValueRange inputs,
                      RankedTensorType resultType, ScalarBody body) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> resultShape = resultType.getShape();
  unsigned rank = resultShape.size();
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(broadcastMap(ctx, shapeOf(input), resultShape));
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init =
      tensor::EmptyOp::create(b, loc, resultShape, resultType.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value out = body(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, out);
      });
  return generic.getResult(0);
}

static RankedTensorType broadcastType(Value x, Value y) {
  auto xt = cast<RankedTensorType>(x.getType());
  auto yt = cast<RankedTensorType>(y.getType());
  if (xt.getRank() == 0)
    return yt;
  if (yt.getRank() == 0)
    return xt;
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < xt.getRank(); ++d)
    shape.push_back(std::max(xt.getDimSize(d), yt.getDimSize(d)));
  return RankedTensorType::get(shape, xt.getElementType());
}

Value tensormath::add(OpBuilder &b, Location loc, Value x, Value y) {
  return map(b, loc, {x, y}, broadcastType(x, y),
             [](OpBuilder &nb, Location l, ValueRange a) -> Value {
               return arith::AddFOp::create(nb, l, a[0], a[1]);
             });
}

Value tensormath::sub(OpBuilder &b, Location loc, Value x, Value y) {
  return map(b, loc, {x, y}, broadcastType(x, y),
             [](OpBuilder &nb, Location l, ValueRange a) -> Value {
               return arith::SubFOp::create(nb, l, a[0], a[1]);
             });
}

Value tensormath::mul(OpBuilder &b, Location loc, Value x, Value y) {
  return map(b, loc, {x, y}, broadcastType(x, y),
             [](OpBuilder &nb, Location l, ValueRange a) -> Value {
               return arith::MulFOp::create(nb, l, a[0], a[1]);
             });
}

Value tensormath::scale(OpBuilder &b, Location loc, Value x, double factor) {
  auto type = cast<RankedTensorType>(x.getType());
  return map(b, loc, {x}, type,
             [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
               Value f = arith::ConstantOp::create(
                   nb, l, nb.getFloatAttr(type.getElementType(), factor));
               return arith::MulFOp::create(nb, l, a[0], f);
             });
}

Value tensormath::sumTo(OpBuilder &b, Location loc, Value x,
                        ArrayRef<int64_t> shape) {
  ArrayRef<int64_t> xShape = shapeOf(x);
  if (shape == xShape)
    return x;
  MLIRContext *ctx = b.getContext();
  unsigned rank = xShape.size();
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (unsigned d = 0; d < rank; ++d) {
    bool reduced = shape.empty() || (shape[d] == 1 && xShape[d] != 1);
    iterators.push_back(reduced ? utils::IteratorType::reduction
                                : utils::IteratorType::parallel);
    if (!shape.empty())
      outExprs.push_back(reduced ? getAffineConstantExpr(0, ctx)
                                 : getAffineDimExpr(d, ctx));
  }
  auto resultType = withShape(x, shape);
  Value init = splat(b, loc, resultType, 0.0);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, ValueRange{x}, ValueRange{init}, maps, iterators,
      [](OpBuilder &nb, Location l, ValueRange a) {
        linalg::YieldOp::create(
            nb, l, arith::AddFOp::create(nb, l, a[0], a[1]).getResult());
      });
  return generic.getResult(0);
}

Value tensormath::sumPerChannel(OpBuilder &b, Location loc, Value x,
                                int64_t axis) {
  ArrayRef<int64_t> xShape = shapeOf(x);
  SmallVector<int64_t> keep(xShape.size(), 1);
  keep[axis] = xShape[axis];
  Value kept = sumTo(b, loc, x, keep);
  return reshape(b, loc, kept, {xShape[axis]});
}

Value tensormath::reshape(OpBuilder &b, Location loc, Value x,
                          ArrayRef<int64_t> shape) {
  if (shapeOf(x) == shape)
    return x;
  auto shapeType = tosa::shapeType::get(b.getContext(), shape.size());
  auto attr = DenseIntElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(shape.size())},
                            b.getIndexType()),
      shape);
  Value shapeValue = tosa::ConstShapeOp::create(b, loc, shapeType, attr);
  return tosa::ReshapeOp::create(b, loc, withShape(x, shape), x, shapeValue);
}

Value tensormath::transpose(OpBuilder &b, Location loc, Value x,
                            ArrayRef<int64_t> perm) {
  ArrayRef<int64_t> xShape = shapeOf(x);
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(xShape[p]);
  Value init = tensor::EmptyOp::create(
      b, loc, shape, cast<RankedTensorType>(x.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, x, init, perm).getResult()[0];
}

Value tensormath::batchMatmul(OpBuilder &b, Location loc, Value x, Value y) {
  ArrayRef<int64_t> xs = shapeOf(x), ys = shapeOf(y);
  auto type = withShape(x, {xs[0], xs[1], ys[2]});
  Value init = splat(b, loc, type, 0.0);
  return linalg::BatchMatmulOp::create(b, loc, TypeRange{type},
                                       ValueRange{x, y}, ValueRange{init})
      .getResult(0);
}

Value tensormath::padZeros(OpBuilder &b, Location loc, Value x,
                           ArrayRef<int64_t> low, ArrayRef<int64_t> high) {
  if (llvm::all_of(low, [](int64_t v) { return v == 0; }) &&
      llvm::all_of(high, [](int64_t v) { return v == 0; }))
    return x;
  ArrayRef<int64_t> xShape = shapeOf(x);
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> lowOfr, highOfr;
  for (size_t d = 0; d < xShape.size(); ++d) {
    shape.push_back(xShape[d] + low[d] + high[d]);
    lowOfr.push_back(b.getIndexAttr(low[d]));
    highOfr.push_back(b.getIndexAttr(high[d]));
  }
  auto elementType = cast<RankedTensorType>(x.getType()).getElementType();
  Value zero =
      arith::ConstantOp::create(b, loc, b.getFloatAttr(elementType, 0));
  return tensor::PadOp::create(b, loc, withShape(x, shape), x, lowOfr, highOfr,
                               zero);
}

Value tensormath::dilate(OpBuilder &b, Location loc, Value x,
                         ArrayRef<int64_t> stride) {
  if (llvm::all_of(stride, [](int64_t s) { return s == 1; }))
    return x;
  ArrayRef<int64_t> xShape = shapeOf(x);
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> offsets, sizes, strides;
  for (size_t d = 0; d < xShape.size(); ++d) {
    shape.push_back((xShape[d] - 1) * stride[d] + 1);
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(b.getIndexAttr(xShape[d]));
    strides.push_back(b.getIndexAttr(stride[d]));
  }
  Value zeros = splat(b, loc, withShape(x, shape), 0.0);
  return tensor::InsertSliceOp::create(b, loc, x, zeros, offsets, sizes,
                                       strides);
}

Value tensormath::slice(OpBuilder &b, Location loc, Value x,
                        ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes) {
  if (shapeOf(x) == sizes)
    return x;
  return stridedSlice(b, loc, x, offsets, sizes,
                      SmallVector<int64_t>(sizes.size(), 1));
}

Value tensormath::stridedSlice(OpBuilder &b, Location loc, Value x,
                               ArrayRef<int64_t> offsets,
                               ArrayRef<int64_t> sizes,
                               ArrayRef<int64_t> strides) {
  MLIRContext *ctx = b.getContext();
  return tensor::ExtractSliceOp::create(
      b, loc, withShape(x, sizes), x, getAsIndexOpFoldResult(ctx, offsets),
      getAsIndexOpFoldResult(ctx, sizes), getAsIndexOpFoldResult(ctx, strides));
}

Value tensormath::insertStrided(OpBuilder &b, Location loc, Value x,
                                Value into, ArrayRef<int64_t> offsets,
                                ArrayRef<int64_t> strides) {
  MLIRContext *ctx = b.getContext();
  return tensor::InsertSliceOp::create(
      b, loc, x, into, getAsIndexOpFoldResult(ctx, offsets),
      getAsIndexOpFoldResult(ctx, shapeOf(x)),
      getAsIndexOpFoldResult(ctx, strides));
}

Value tensormath::insertIntoZeros(OpBuilder &b, Location loc, Value x,
                                  ArrayRef<int64_t> shape,
                                  ArrayRef<int64_t> offsets) {
  if (shapeOf(x) == shape)
    return x;
  Value zeros = splat(b, loc, withShape(x, shape), 0.0);
  return insertStrided(b, loc, x, zeros, offsets,
                       SmallVector<int64_t>(shape.size(), 1));
}

Value tensormath::alongAxis(OpBuilder &b, Location loc, Value v, int64_t axis,
                            int64_t rank) {
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = shapeOf(v)[0];
  return reshape(b, loc, v, shape);
}

std::pair<Value, Value> tensormath::rowMax(OpBuilder &b, Location loc,
                                           Value matrix) {
  MLIRContext *ctx = b.getContext();
  int64_t rows = shapeOf(matrix)[0];
  auto f32Row = RankedTensorType::get({rows, 1}, b.getF32Type());
  auto i32Row = RankedTensorType::get({rows, 1}, b.getI32Type());
  Value maxInit =
      splat(b, loc, f32Row, -std::numeric_limits<double>::infinity());
  Value idxInit = arith::ConstantOp::create(
      b, loc, i32Row, DenseElementsAttr::get(i32Row, b.getI32IntegerAttr(0)));
  AffineMap rowMap = AffineMap::get(
      2, 0, {getAffineDimExpr(0, ctx), getAffineConstantExpr(0, ctx)}, ctx);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{f32Row, i32Row}, ValueRange{matrix},
      ValueRange{maxInit, idxInit},
      ArrayRef<AffineMap>{b.getMultiDimIdentityMap(2), rowMap, rowMap},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                    utils::IteratorType::reduction},
      [](OpBuilder &nb, Location l, ValueRange a) {
        // Strictly greater: the first maximum wins.
        Value better =
            arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, a[0], a[1]);
        Value column = arith::IndexCastOp::create(
            nb, l, nb.getI32Type(), linalg::IndexOp::create(nb, l, 1));
        linalg::YieldOp::create(
            nb, l,
            ValueRange{arith::SelectOp::create(nb, l, better, a[0], a[1]),
                       arith::SelectOp::create(nb, l, better, column, a[2])});
      });
  return {generic.getResult(0), generic.getResult(1)};
}
