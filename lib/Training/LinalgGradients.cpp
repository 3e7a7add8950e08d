//===- LinalgGradients.cpp - reverse-mode rules of linalg and tensor ops --===//
//
// External models of GradientOpInterface for the linalg named ops of
// linalg-form layers (matmul, batch_matmul, 2-d NHWC convolutions and
// pooling) and the tensor ops that upstream tosa-to-linalg(-named) and
// tosa-to-tensor emit around them: reshapes, slices, concatenation and
// explicit padding. Named ops accumulate into their init, so the init's
// gradient is the output gradient itself (max pooling: where the init stays
// the maximum). Padding is explicit (tensor.pad), so the convolution and
// pooling adjoints work on the padded input and the pad's rule crops.
//
//===----------------------------------------------------------------------===//

#include "GradientRule.h"
#include "dq/Training/GradientModels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::dq;
using mlir::dq::gradient_rules::flipKernel;
using mlir::dq::gradient_rules::spreadOutputGrad;
using mlir::dq::gradient_rules::sumOfProducts;
using mlir::dq::gradient_rules::Window;
using mlir::dq::gradient_rules::windowPositions;

namespace {

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

/// Rules of ops whose shapes they build zeros and slices from.
template <typename Model, typename OpTy>
struct StaticRule : gradient_rules::Rule<Model, OpTy> {
  static LogicalResult checkOp(Operation *op) { return checkStaticTensors(op); }
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

struct CollapseShapeRule
    : StaticRule<CollapseShapeRule, tensor::CollapseShapeOp> {
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

struct ExpandShapeRule : StaticRule<ExpandShapeRule, tensor::ExpandShapeOp> {
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

struct ExtractSliceRule : StaticRule<ExtractSliceRule, tensor::ExtractSliceOp> {
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

struct InsertSliceRule : StaticRule<InsertSliceRule, tensor::InsertSliceOp> {
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

struct ConcatRule : StaticRule<ConcatRule, tensor::ConcatOp> {
  LogicalResult grad(tensor::ConcatOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    gradient_rules::concatGradients(b, op.getLoc(), dys[0], op.getInputs(),
                                    op.getDim(), needed, grads);
    return success();
  }
};

struct PadRule : StaticRule<PadRule, tensor::PadOp> {
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

/// `x` read through `xMap` with the innermost output loop of `outMap` moved
/// to its last dim (a transposed copy): dq-vectorize-generics vectorizes
/// along that loop, and a read of it along another dim, broadcast over the
/// reduction loops, sends the upstream vector transfer-permutation and
/// broadcast-lowering patterns into an endless rewrite loop.
std::pair<Value, AffineMap> innermostLast(OpBuilder &b, Location loc, Value x,
                                          AffineMap xMap, AffineMap outMap) {
  auto inner = dyn_cast<AffineDimExpr>(outMap.getResults().back());
  ArrayRef<AffineExpr> results = xMap.getResults();
  auto it = llvm::find(results, AffineExpr(inner));
  if (!inner || it == results.end() || it == results.end() - 1)
    return {x, xMap};
  int64_t pos = it - results.begin();
  SmallVector<int64_t> perm;
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0, e = results.size(); i < e; ++i)
    if (i != pos)
      perm.push_back(i);
  perm.push_back(pos);
  for (int64_t i : perm)
    exprs.push_back(results[i]);
  return {tensormath::transpose(b, loc, x, perm),
          AffineMap::get(xMap.getNumDims(), 0, exprs, b.getContext())};
}

/// sumOfProducts whose inputs are read contiguously along the innermost
/// output loop.
Value contiguousSumOfProducts(OpBuilder &b, Location loc, Value x,
                              AffineMap xMap, Value y, AffineMap yMap,
                              AffineMap outMap, ArrayRef<int64_t> outShape) {
  auto [xc, xcMap] = innermostLast(b, loc, x, xMap, outMap);
  auto [yc, ycMap] = innermostLast(b, loc, y, yMap, outMap);
  return sumOfProducts(b, loc, xc, xcMap, yc, ycMap, outMap, outShape);
}

/// C[c] += A[a] * B[b] over projected-permutation maps (matmul,
/// batch_matmul, transposed or broadcast variants): each operand's gradient
/// is the same sum of products with the roles exchanged.
template <typename OpTy>
struct ContractionRule : StaticRule<ContractionRule<OpTy>, OpTy> {
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
      grads[0] = contiguousSumOfProducts(b, loc, dy, maps[2], rhs, maps[1],
                                         maps[0], tensormath::shapeOf(lhs));
    if (needed[1])
      grads[1] = contiguousSumOfProducts(b, loc, lhs, maps[0], dy, maps[2],
                                         maps[1], tensormath::shapeOf(rhs));
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

bool hasF(Layout l) { return l != Layout::HWC; }

/// The output element (n, h, w, c, f) reads, f being the output channel or
/// the channel multiplier.
SmallVector<AffineExpr> outputExprs(Layout l, AffineExpr n, AffineExpr h,
                                    AffineExpr w, AffineExpr c, AffineExpr f) {
  switch (l) {
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

SmallVector<AffineExpr> weightExprs(Layout l, AffineExpr kh, AffineExpr kw,
                                    AffineExpr c, AffineExpr f) {
  switch (l) {
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
unsigned kernelRowDim(Layout l) { return l == Layout::FHWC ? 1 : 0; }

/// The window of a linalg convolution or pooling; its input is already
/// padded.
template <typename OpTy> Window windowOf(OpTy op, int64_t kh, int64_t kw) {
  auto strides = llvm::to_vector(op.getStrides().template getValues<int64_t>());
  auto dilations =
      llvm::to_vector(op.getDilations().template getValues<int64_t>());
  return Window{kh,           kw, strides[0], strides[1], dilations[0],
                dilations[1], 0,  0,          0,          0};
}

/// Loop dims: n, h, w, c, kh, kw and, except for HWC, f.
Value convInputGrad(OpBuilder &b, Location loc, Value dy, Value weight,
                    ArrayRef<int64_t> inShape, const Window &w, Layout l) {
  MLIRContext *ctx = b.getContext();
  unsigned numDims = hasF(l) ? 7 : 6;
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineExpr fDim = hasF(l) ? d(6) : AffineExpr();
  Value spread = spreadOutputGrad(b, loc, dy, w, inShape[1], inShape[2]);
  unsigned row = kernelRowDim(l);
  Value flipped = flipKernel(b, loc, weight, row, row + 1);
  AffineMap dyMap = AffineMap::get(
      numDims, 0,
      outputExprs(l, d(0), d(1) + d(4) * w.dh, d(2) + d(5) * w.dw, d(3), fDim),
      ctx);
  AffineMap wMap =
      AffineMap::get(numDims, 0, weightExprs(l, d(4), d(5), d(3), fDim), ctx);
  AffineMap outMap = AffineMap::get(numDims, 0, {d(0), d(1), d(2), d(3)}, ctx);
  return contiguousSumOfProducts(b, loc, spread, dyMap, flipped, wMap, outMap,
                                 inShape);
}

/// Loop dims as in convInputGrad, h and w being output positions.
Value convWeightGrad(OpBuilder &b, Location loc, Value dy, Value input,
                     ArrayRef<int64_t> weightShape, const Window &w, Layout l) {
  MLIRContext *ctx = b.getContext();
  unsigned numDims = hasF(l) ? 7 : 6;
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineExpr fDim = hasF(l) ? d(6) : AffineExpr();
  AffineMap dyMap = AffineMap::get(
      numDims, 0, outputExprs(l, d(0), d(1), d(2), d(3), fDim), ctx);
  AffineMap xMap = AffineMap::get(
      numDims, 0,
      {d(0), d(1) * w.sh + d(4) * w.dh, d(2) * w.sw + d(5) * w.dw, d(3)}, ctx);
  AffineMap outMap =
      AffineMap::get(numDims, 0, weightExprs(l, d(4), d(5), d(3), fDim), ctx);
  return contiguousSumOfProducts(b, loc, dy, dyMap, input, xMap, outMap,
                                 weightShape);
}

template <typename OpTy, Layout L>
struct ConvRule : StaticRule<ConvRule<OpTy, L>, OpTy> {
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
    unsigned row = kernelRowDim(L);
    Window w = windowOf(op, weightShape[row], weightShape[row + 1]);
    Location loc = op.getLoc();
    Value dy = dys[0];
    if (needed[0])
      grads[0] =
          convInputGrad(b, loc, dy, weight, tensormath::shapeOf(input), w, L);
    if (needed[1])
      grads[1] = convWeightGrad(b, loc, dy, input, weightShape, w, L);
    if (needed[2])
      grads[2] = dy;
    return success();
  }
};

/// Loops (n, h, w, c, kh, kw) of the pooling gradients.
struct PoolMaps {
  AffineMap spread, window, element, input;
  PoolMaps(MLIRContext *ctx, const Window &w) {
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    spread = AffineMap::get(
        6, 0, {d(0), d(1) + d(4) * w.dh, d(2) + d(5) * w.dw, d(3)}, ctx);
    window = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
    element = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
    // The input a window element at output (h, w) reads.
    input = AffineMap::get(
        6, 0,
        {d(0), d(1) * w.sh + d(4) * w.dh, d(2) * w.sw + d(5) * w.dw, d(3)},
        ctx);
  }
};

template <typename OpTy> Window poolWindowOf(OpTy op) {
  ArrayRef<int64_t> window =
      tensormath::shapeOf(op.getDpsInputOperand(1)->get());
  return windowOf(op, window[0], window[1]);
}

struct SumPoolRule : StaticRule<SumPoolRule, linalg::PoolingNhwcSumOp> {
  LogicalResult grad(linalg::PoolingNhwcSumOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    Location loc = op.getLoc();
    Value dy = dys[0];
    if (needed[0]) {
      Window w = poolWindowOf(op);
      PoolMaps maps(b.getContext(), w);
      ArrayRef<int64_t> inShape =
          tensormath::shapeOf(op.getDpsInputOperand(0)->get());
      Value spread = spreadOutputGrad(b, loc, dy, w, inShape[1], inShape[2]);
      Value ones = tensormath::splat(
          b, loc, RankedTensorType::get({w.kh, w.kw}, elementOf(dy)), 1.0);
      grads[0] = sumOfProducts(b, loc, spread, maps.spread, ones, maps.window,
                               maps.element, inShape);
    }
    // The window operand only carries the kernel shape.
    if (needed[2])
      grads[2] = dy;
    return success();
  }
};

struct MaxPoolRule : StaticRule<MaxPoolRule, linalg::PoolingNhwcMaxOp> {
  LogicalResult grad(linalg::PoolingNhwcMaxOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (!needed[0] && !needed[2])
      return success();
    Location loc = op.getLoc();
    Value input = op.getDpsInputOperand(0)->get();
    Value init = op.getDpsInitOperand(0)->get();
    Window w = poolWindowOf(op);
    PoolMaps maps(b.getContext(), w);
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
        windowPositions(b, loc, element, w.kh, w.kw, /*flipped=*/false);
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
    Value dyp = spreadOutputGrad(b, loc, dy, w, inShape[1], inShape[2]);
    Value argp = spreadOutputGrad(b, loc, arg, w, inShape[1], inShape[2]);
    auto inType = RankedTensorType::get(inShape, element);
    Value zeros = tensormath::splat(b, loc, inType, 0.0);
    Value flippedPositions =
        windowPositions(b, loc, element, w.kh, w.kw, /*flipped=*/true);
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

void mlir::dq::registerLinalgGradientModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::CollapseShapeOp::attachInterface<CollapseShapeRule>(*ctx);
    tensor::ExpandShapeOp::attachInterface<ExpandShapeRule>(*ctx);
    tensor::ExtractSliceOp::attachInterface<ExtractSliceRule>(*ctx);
    tensor::InsertSliceOp::attachInterface<InsertSliceRule>(*ctx);
    tensor::ConcatOp::attachInterface<ConcatRule>(*ctx);
    tensor::PadOp::attachInterface<PadRule>(*ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, linalg::LinalgDialect *) {
    linalg::MatmulOp::attachInterface<ContractionRule<linalg::MatmulOp>>(*ctx);
    linalg::BatchMatmulOp::attachInterface<
        ContractionRule<linalg::BatchMatmulOp>>(*ctx);
    linalg::Conv2DNhwcFhwcOp::attachInterface<
        ConvRule<linalg::Conv2DNhwcFhwcOp, Layout::FHWC>>(*ctx);
    linalg::Conv2DNhwcHwcfOp::attachInterface<
        ConvRule<linalg::Conv2DNhwcHwcfOp, Layout::HWCF>>(*ctx);
    linalg::DepthwiseConv2DNhwcHwcmOp::attachInterface<
        ConvRule<linalg::DepthwiseConv2DNhwcHwcmOp, Layout::HWCM>>(*ctx);
    linalg::DepthwiseConv2DNhwcHwcOp::attachInterface<
        ConvRule<linalg::DepthwiseConv2DNhwcHwcOp, Layout::HWC>>(*ctx);
    linalg::PoolingNhwcSumOp::attachInterface<SumPoolRule>(*ctx);
    linalg::PoolingNhwcMaxOp::attachInterface<MaxPoolRule>(*ctx);
    gradient_rules::attachPayloadRules(ctx);
  });
}
