//===- LinalgGradients.cpp - reverse-mode rules of linalg and tensor ops --===//
//
// External models of GradientOpInterface for the tensor and linalg ops that
// upstream tosa-to-linalg(-named), tosa-to-tensor and tosa-to-arith emit.
// Named linalg ops accumulate into their init, so the init's gradient is
// the output gradient itself (max pooling: where the init stays the
// maximum). Padding is explicit (tensor.pad), so the convolution and pooling
// adjoints work on the padded input and the pad's rule crops.
//
//===----------------------------------------------------------------------===//

#include "dq/Interfaces/GradientOpInterface.h"
#include "dq/Interfaces/TensorMath.h"
#include "dq/Training/GradientModels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::dq;

namespace {

RankedTensorType tensorType(ArrayRef<int64_t> shape, Type element) {
  return RankedTensorType::get(shape, element);
}

Type elementOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}

/// The rules build static zero tensors and affine maps from shapes.
LogicalResult checkStaticTensors(Operation *op) {
  auto isStatic = [](Type t) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    return !isa<TensorType>(t) || (ranked && ranked.hasStaticShape());
  };
  if (llvm::all_of(op->getOperandTypes(), isStatic) &&
      llvm::all_of(op->getResultTypes(), isStatic))
    return success();
  return op->emitError() << "gradient of '" << op->getName()
                         << "' needs static tensor shapes";
}

/// out[outMap] = sum x[xMap] * y[yMap]; loops missing from `outMap` are
/// reductions.
Value sumOfProducts(OpBuilder &b, Location loc, Value x, AffineMap xMap,
                    Value y, AffineMap yMap, AffineMap outMap,
                    ArrayRef<int64_t> outShape) {
  SmallVector<utils::IteratorType> iterators(outMap.getNumDims(),
                                             utils::IteratorType::reduction);
  for (AffineExpr e : outMap.getResults())
    if (auto dim = dyn_cast<AffineDimExpr>(e))
      iterators[dim.getPosition()] = utils::IteratorType::parallel;
  auto type = tensorType(outShape, elementOf(x));
  Value init = tensormath::splat(b, loc, type, 0.0);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{x, y}, ValueRange{init},
             ArrayRef<AffineMap>{xMap, yMap, outMap}, iterators,
             [](OpBuilder &nb, Location l, ValueRange a) {
               Value p = arith::MulFOp::create(nb, l, a[0], a[1]);
               linalg::YieldOp::create(
                   nb, l, arith::AddFOp::create(nb, l, a[2], p).getResult());
             })
      .getResult(0);
}

/// Sums `full` (indexed by all loops, identity map) down to the operand
/// read through the projected permutation `map`.
Value sumToMap(OpBuilder &b, Location loc, Value full, AffineMap map,
               ArrayRef<int64_t> shape) {
  if (map.isIdentity())
    return full;
  SmallVector<utils::IteratorType> iterators(map.getNumDims(),
                                             utils::IteratorType::reduction);
  for (AffineExpr e : map.getResults())
    iterators[cast<AffineDimExpr>(e).getPosition()] =
        utils::IteratorType::parallel;
  auto type = tensorType(shape, elementOf(full));
  Value init = tensormath::splat(b, loc, type, 0.0);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{full}, ValueRange{init},
             ArrayRef<AffineMap>{b.getMultiDimIdentityMap(map.getNumDims()),
                                 map},
             iterators,
             [](OpBuilder &nb, Location l, ValueRange a) {
               linalg::YieldOp::create(
                   nb, l, arith::AddFOp::create(nb, l, a[1], a[0]).getResult());
             })
      .getResult(0);
}

/// Base for external models: fills `grads` with nulls and dispatches.
template <typename Model, typename OpTy>
struct Rule : public GradientOpInterface::ExternalModel<Model, OpTy> {
  LogicalResult buildGradients(Operation *op, OpBuilder &b,
                               ValueRange resultGrads, ArrayRef<bool> needed,
                               SmallVectorImpl<Value> &grads) const {
    grads.assign(op->getNumOperands(), Value());
    if (failed(checkStaticTensors(op)))
      return failure();
    return static_cast<const Model *>(this)->grad(cast<OpTy>(op), b,
                                                  resultGrads, needed, grads);
  }
};

SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> values) {
  SmallVector<OpFoldResult> result;
  for (int64_t v : values)
    result.push_back(b.getIndexAttr(v));
  return result;
}

//===----------------------------------------------------------------------===//
// Tensor shape ops
//===----------------------------------------------------------------------===//

struct CollapseShapeRule : Rule<CollapseShapeRule, tensor::CollapseShapeOp> {
  LogicalResult grad(tensor::CollapseShapeOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (needed[0])
      grads[0] =
          tensor::ExpandShapeOp::create(b, op.getLoc(), op.getSrcType(), dys[0],
                                        op.getReassociationIndices());
    return success();
  }
};

struct ExpandShapeRule : Rule<ExpandShapeRule, tensor::ExpandShapeOp> {
  LogicalResult grad(tensor::ExpandShapeOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (needed[0])
      grads[0] =
          tensor::CollapseShapeOp::create(b, op.getLoc(), op.getSrcType(),
                                          dys[0], op.getReassociationIndices());
    return success();
  }
};

struct ExtractSliceRule : Rule<ExtractSliceRule, tensor::ExtractSliceOp> {
  LogicalResult grad(tensor::ExtractSliceOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (!needed[0])
      return success();
    Location loc = op.getLoc();
    Value zeros = tensormath::zerosLike(b, loc, op.getSource());
    // Same offsets, sizes and strides (rank-reduced slices included).
    grads[0] = tensor::InsertSliceOp::create(
        b, loc, dys[0], zeros, op.getMixedOffsets(), op.getMixedSizes(),
        op.getMixedStrides());
    return success();
  }
};

struct InsertSliceRule : Rule<InsertSliceRule, tensor::InsertSliceOp> {
  LogicalResult grad(tensor::InsertSliceOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    Location loc = op.getLoc();
    Value dy = dys[0];
    if (needed[0])
      grads[0] = tensor::ExtractSliceOp::create(
          b, loc, op.getSourceType(), dy, op.getMixedOffsets(),
          op.getMixedSizes(), op.getMixedStrides());
    // The overwritten part of the destination gets none.
    if (needed[1])
      grads[1] = tensor::InsertSliceOp::create(
          b, loc, tensormath::zerosLike(b, loc, op.getSource()), dy,
          op.getMixedOffsets(), op.getMixedSizes(), op.getMixedStrides());
    return success();
  }
};

struct ConcatRule : Rule<ConcatRule, tensor::ConcatOp> {
  LogicalResult grad(tensor::ConcatOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    int64_t dim = op.getDim();
    int64_t offset = 0;
    for (auto [i, input] : llvm::enumerate(op.getInputs())) {
      ArrayRef<int64_t> shape = tensormath::shapeOf(input);
      if (needed[i]) {
        SmallVector<int64_t> offsets(shape.size(), 0);
        offsets[dim] = offset;
        grads[i] = tensormath::slice(b, op.getLoc(), dys[0], offsets, shape);
      }
      offset += shape[dim];
    }
    return success();
  }
};

struct PadRule : Rule<PadRule, tensor::PadOp> {
  LogicalResult grad(tensor::PadOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    // The padding value is no operand: one computed from trained values
    // would silently get no gradient, so only constants are accepted.
    Value padding = op.getConstantPaddingValue();
    if (!padding || !matchPattern(padding, m_Constant()))
      return op.emitError("gradient of tensor.pad needs a constant padding "
                          "value");
    if (!needed[0])
      return success();
    ArrayRef<int64_t> shape = tensormath::shapeOf(op.getSource());
    SmallVector<int64_t> ones(shape.size(), 1);
    grads[0] = tensor::ExtractSliceOp::create(
        b, op.getLoc(), op.getSourceType(), dys[0], op.getMixedLowPad(),
        indexAttrs(b, shape), indexAttrs(b, ones));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// C[c] += A[a] * B[b] over projected-permutation maps (matmul,
/// batch_matmul, transposed or broadcast variants): each gradient is the
/// same sum of products with the roles exchanged.
template <typename OpTy>
struct ContractionRule : Rule<ContractionRule<OpTy>, OpTy> {
  LogicalResult grad(OpTy op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    auto linalgOp = cast<linalg::LinalgOp>(op.getOperation());
    SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
    Value lhs = linalgOp.getDpsInputOperand(0)->get();
    Value rhs = linalgOp.getDpsInputOperand(1)->get();
    Value init = linalgOp.getDpsInitOperand(0)->get();
    Type element = elementOf(init);
    if (!linalg::isaContractionOpInterface(linalgOp) ||
        elementOf(lhs) != element || elementOf(rhs) != element ||
        !llvm::all_of(maps,
                      [](AffineMap m) { return m.isProjectedPermutation(); }))
      return op.emitError()
             << "gradient of '" << op->getName()
             << "' needs one element type and projected-permutation maps";
    Location loc = op.getLoc();
    Value dy = dys[0];
    if (needed[0])
      grads[0] = sumOfProducts(b, loc, dy, maps[2], rhs, maps[1], maps[0],
                               tensormath::shapeOf(lhs));
    if (needed[1])
      grads[1] = sumOfProducts(b, loc, lhs, maps[0], dy, maps[2], maps[1],
                               tensormath::shapeOf(rhs));
    if (needed[2])
      grads[2] = dy;
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Convolution and pooling (NHWC, explicitly padded input)
//===----------------------------------------------------------------------===//

/// Weight layouts: conv_2d_nhwc_fhwc / _hwcf, depthwise _hwcm / _hwc.
enum class Layout { FHWC, HWCF, HWCM, HWC };

/// Loop dims of the gradient generics: n, h, w, c, kh, kw and, except for
/// HWC, f (output channel or channel multiplier).
struct ConvForm {
  Layout layout;
  int64_t kh, kw, sh, sw, dh, dw;

  bool hasF() const { return layout != Layout::HWC; }
  unsigned numDims() const { return hasF() ? 7 : 6; }
  int64_t extentH() const { return (kh - 1) * dh; }
  int64_t extentW() const { return (kw - 1) * dw; }
  /// The output element (n, h, w, c, f) reads.
  SmallVector<AffineExpr> output(AffineExpr n, AffineExpr h, AffineExpr w,
                                 AffineExpr c, AffineExpr f) const {
    switch (layout) {
    case Layout::FHWC:
    case Layout::HWCF:
      return {n, h, w, f};
    case Layout::HWCM:
      return {n, h, w, c, f};
    case Layout::HWC:
      return {n, h, w, c};
    }
    llvm_unreachable("layout");
  }
  SmallVector<AffineExpr> weight(AffineExpr kh, AffineExpr kw, AffineExpr c,
                                 AffineExpr f) const {
    switch (layout) {
    case Layout::FHWC:
      return {f, kh, kw, c};
    case Layout::HWCF:
    case Layout::HWCM:
      return {kh, kw, c, f};
    case Layout::HWC:
      return {kh, kw, c};
    }
    llvm_unreachable("layout");
  }
  /// The weight's kernel-row dim (kernel columns follow it).
  unsigned kernelRowDim() const { return layout == Layout::FHWC ? 1 : 0; }
};

std::pair<int64_t, int64_t> attrPair(DenseIntElementsAttr attr) {
  auto values = llvm::to_vector(attr.getValues<int64_t>());
  return {values[0], values[1]};
}

template <typename OpTy>
ConvForm convFormOf(OpTy op, Layout layout, int64_t kh, int64_t kw) {
  auto [sh, sw] = attrPair(op.getStrides());
  auto [dh, dw] = attrPair(op.getDilations());
  return ConvForm{layout, kh, kw, sh, sw, dh, dw};
}

/// The output gradient dilated by the stride and padded by the kernel
/// extent, so that the input gradient is sum_k spread[h + k * d] * flip(w)[k].
Value spreadOutputGrad(OpBuilder &b, Location loc, Value dy, const ConvForm &f,
                       int64_t inH, int64_t inW) {
  ArrayRef<int64_t> s = tensormath::shapeOf(dy);
  SmallVector<int64_t> stride(s.size(), 1), low(s.size(), 0), high(s.size(), 0);
  stride[1] = f.sh;
  stride[2] = f.sw;
  low[1] = f.extentH();
  low[2] = f.extentW();
  // Input rows past the last window get zeros.
  high[1] = inH - (s[1] - 1) * f.sh - 1;
  high[2] = inW - (s[2] - 1) * f.sw - 1;
  return tensormath::padZeros(b, loc, tensormath::dilate(b, loc, dy, stride),
                              low, high);
}

/// `x` reversed along dims `dim` and `dim + 1`.
Value flipWindow(OpBuilder &b, Location loc, Value x, unsigned dim) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> shape = tensormath::shapeOf(x);
  SmallVector<AffineExpr> exprs;
  for (unsigned i = 0; i < shape.size(); ++i) {
    AffineExpr d = getAffineDimExpr(i, ctx);
    exprs.push_back(i == dim || i == dim + 1
                        ? getAffineConstantExpr(shape[i] - 1, ctx) - d
                        : d);
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

Value convInputGrad(OpBuilder &b, Location loc, Value dy, Value weight,
                    ArrayRef<int64_t> inShape, const ConvForm &f) {
  MLIRContext *ctx = b.getContext();
  unsigned numDims = f.numDims();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineExpr fDim = f.hasF() ? d(6) : AffineExpr();
  Value spread = spreadOutputGrad(b, loc, dy, f, inShape[1], inShape[2]);
  Value flipped = flipWindow(b, loc, weight, f.kernelRowDim());
  AffineMap dyMap = AffineMap::get(
      numDims, 0,
      f.output(d(0), d(1) + d(4) * f.dh, d(2) + d(5) * f.dw, d(3), fDim), ctx);
  AffineMap wMap =
      AffineMap::get(numDims, 0, f.weight(d(4), d(5), d(3), fDim), ctx);
  AffineMap outMap = AffineMap::get(numDims, 0, {d(0), d(1), d(2), d(3)}, ctx);
  return sumOfProducts(b, loc, spread, dyMap, flipped, wMap, outMap, inShape);
}

Value convWeightGrad(OpBuilder &b, Location loc, Value dy, Value input,
                     ArrayRef<int64_t> weightShape, const ConvForm &f) {
  MLIRContext *ctx = b.getContext();
  unsigned numDims = f.numDims();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineExpr fDim = f.hasF() ? d(6) : AffineExpr();
  // h, w are output positions here.
  AffineMap dyMap =
      AffineMap::get(numDims, 0, f.output(d(0), d(1), d(2), d(3), fDim), ctx);
  AffineMap xMap = AffineMap::get(
      numDims, 0,
      {d(0), d(1) * f.sh + d(4) * f.dh, d(2) * f.sw + d(5) * f.dw, d(3)}, ctx);
  AffineMap outMap =
      AffineMap::get(numDims, 0, f.weight(d(4), d(5), d(3), fDim), ctx);
  return sumOfProducts(b, loc, dy, dyMap, input, xMap, outMap, weightShape);
}

template <typename OpTy, Layout L>
struct ConvRule : Rule<ConvRule<OpTy, L>, OpTy> {
  LogicalResult grad(OpTy op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    Value input = op.getDpsInputOperand(0)->get();
    Value weight = op.getDpsInputOperand(1)->get();
    Value init = op.getDpsInitOperand(0)->get();
    if (elementOf(input) != elementOf(init) ||
        elementOf(weight) != elementOf(init))
      return op.emitError()
             << "gradient of '" << op->getName() << "' needs one element type";
    ArrayRef<int64_t> weightShape = tensormath::shapeOf(weight);
    unsigned row = L == Layout::FHWC ? 1 : 0;
    ConvForm form = convFormOf(op, L, weightShape[row], weightShape[row + 1]);
    Location loc = op.getLoc();
    Value dy = dys[0];
    if (needed[0])
      grads[0] =
          convInputGrad(b, loc, dy, weight, tensormath::shapeOf(input), form);
    if (needed[1])
      grads[1] = convWeightGrad(b, loc, dy, input, weightShape, form);
    if (needed[2])
      grads[2] = dy;
    return success();
  }
};

/// Loops (n, h, w, c, kh, kw) of the pooling gradients.
struct PoolMaps {
  AffineMap spread, window, element, input;
  PoolMaps(MLIRContext *ctx, const ConvForm &f) {
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    spread = AffineMap::get(
        6, 0, {d(0), d(1) + d(4) * f.dh, d(2) + d(5) * f.dw, d(3)}, ctx);
    window = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
    element = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
    // The input a window element at output (h, w) reads.
    input = AffineMap::get(
        6, 0,
        {d(0), d(1) * f.sh + d(4) * f.dh, d(2) * f.sw + d(5) * f.dw, d(3)},
        ctx);
  }
};

template <typename OpTy> ConvForm poolFormOf(OpTy op) {
  ArrayRef<int64_t> window =
      tensormath::shapeOf(op.getDpsInputOperand(1)->get());
  return convFormOf(op, Layout::HWC, window[0], window[1]);
}

struct SumPoolRule : Rule<SumPoolRule, linalg::PoolingNhwcSumOp> {
  LogicalResult grad(linalg::PoolingNhwcSumOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    Location loc = op.getLoc();
    Value dy = dys[0];
    if (needed[0]) {
      ConvForm f = poolFormOf(op);
      PoolMaps maps(b.getContext(), f);
      ArrayRef<int64_t> inShape =
          tensormath::shapeOf(op.getDpsInputOperand(0)->get());
      Value spread = spreadOutputGrad(b, loc, dy, f, inShape[1], inShape[2]);
      Value ones = tensormath::splat(
          b, loc, tensorType({f.kh, f.kw}, elementOf(dy)), 1.0);
      grads[0] = sumOfProducts(b, loc, spread, maps.spread, ones, maps.window,
                               maps.element, inShape);
    }
    // The window operand only carries the kernel shape.
    if (needed[2])
      grads[2] = dy;
    return success();
  }
};

/// [KH, KW] window positions kh * KW + kw, or (KH-1-kh) * KW + (KW-1-kw)
/// when `flipped`.
Value windowPositions(OpBuilder &b, Location loc, Type element, int64_t kh,
                      int64_t kw, bool flipped) {
  SmallVector<Attribute> values;
  for (int64_t i = 0; i < kh; ++i)
    for (int64_t j = 0; j < kw; ++j)
      values.push_back(b.getFloatAttr(
          element, flipped ? (kh - 1 - i) * kw + (kw - 1 - j) : i * kw + j));
  auto type = tensorType({kh, kw}, element);
  return arith::ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, values));
}

struct MaxPoolRule : Rule<MaxPoolRule, linalg::PoolingNhwcMaxOp> {
  LogicalResult grad(linalg::PoolingNhwcMaxOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (!needed[0] && !needed[2])
      return success();
    Location loc = op.getLoc();
    Value input = op.getDpsInputOperand(0)->get();
    Value init = op.getDpsInitOperand(0)->get();
    ConvForm f = poolFormOf(op);
    PoolMaps maps(b.getContext(), f);
    Type element = elementOf(init);
    auto outType = cast<RankedTensorType>(init.getType());

    // 1. The window position of the maximum, -1 where the init stays the
    // maximum (forward: out = max(out, x) in window order; ties keep the
    // earlier value).
    Value argInit = tensormath::splat(b, loc, outType, -1.0);
    SmallVector<utils::IteratorType> iterators(4,
                                               utils::IteratorType::parallel);
    iterators.append(2, utils::IteratorType::reduction);
    Value positions =
        windowPositions(b, loc, element, f.kh, f.kw, /*flipped=*/false);
    auto argmax = linalg::GenericOp::create(
        b, loc, TypeRange{outType, outType}, ValueRange{input, positions},
        ValueRange{init, argInit},
        ArrayRef<AffineMap>{maps.input, maps.window, maps.element,
                            maps.element},
        iterators, [](OpBuilder &nb, Location l, ValueRange a) {
          Value better = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT,
                                               a[0], a[2]);
          linalg::YieldOp::create(
              nb, l,
              ValueRange{arith::SelectOp::create(nb, l, better, a[0], a[2]),
                         arith::SelectOp::create(nb, l, better, a[1], a[3])});
        });
    Value arg = argmax.getResult(1);
    Value dy = dys[0];

    if (needed[2])
      grads[2] = tensormath::map(
          b, loc, {arg, dy}, outType,
          [](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Type t = a[1].getType();
            Value none =
                arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, -1.0));
            Value zero =
                arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, 0.0));
            Value kept = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                               a[0], none);
            return arith::SelectOp::create(nb, l, kept, a[1], zero);
          });
    if (!needed[0])
      return success();

    // 2. Route each output gradient to its window's maximum: the window
    // whose spread gradient sits at offset (kh, kw) reads this element at
    // its flipped position.
    ArrayRef<int64_t> inShape = tensormath::shapeOf(input);
    Value dyp = spreadOutputGrad(b, loc, dy, f, inShape[1], inShape[2]);
    Value argp = spreadOutputGrad(b, loc, arg, f, inShape[1], inShape[2]);
    auto inType = tensorType(inShape, element);
    Value zeros = tensormath::splat(b, loc, inType, 0.0);
    Value flippedPositions =
        windowPositions(b, loc, element, f.kh, f.kw, /*flipped=*/true);
    auto route = linalg::GenericOp::create(
        b, loc, inType, ValueRange{dyp, argp, flippedPositions},
        ValueRange{zeros},
        ArrayRef<AffineMap>{maps.spread, maps.spread, maps.window,
                            maps.element},
        iterators, [](OpBuilder &nb, Location l, ValueRange a) {
          Value hit = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                            a[1], a[2]);
          Value zero = arith::ConstantOp::create(
              nb, l, nb.getFloatAttr(a[0].getType(), 0.0));
          Value add = arith::SelectOp::create(nb, l, hit, a[0], zero);
          linalg::YieldOp::create(
              nb, l, arith::AddFOp::create(nb, l, a[3], add).getResult());
        });
    grads[0] = route.getResult(0);
    return success();
  }
};

} // namespace

// The linalg named-op rules above are not attached yet: dq-lower-to-llvm
// does not finish on their gradients (first seen on linalg.matmul).
void mlir::dq::registerLinalgGradientModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::CollapseShapeOp::attachInterface<CollapseShapeRule>(*ctx);
    tensor::ExpandShapeOp::attachInterface<ExpandShapeRule>(*ctx);
    tensor::ExtractSliceOp::attachInterface<ExtractSliceRule>(*ctx);
    tensor::InsertSliceOp::attachInterface<InsertSliceRule>(*ctx);
    tensor::ConcatOp::attachInterface<ConcatRule>(*ctx);
    tensor::PadOp::attachInterface<PadRule>(*ctx);
  });
}
