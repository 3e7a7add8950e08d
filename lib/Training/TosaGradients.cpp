//===- TosaGradients.cpp - reverse-mode rules of TOSA ops -----------------===//
//
// External models of GradientOpInterface for the TOSA ops dq models use.
// The backward computations are linalg on tensors. Convolution and pooling
// adjoints use the classic form: dilate the output gradient by the stride,
// pad it by the kernel extent, correlate with the flipped kernel, and crop
// the forward padding; a strided, undilated convolution's input gradient
// instead correlates one stride phase at a time with the taps that reach
// it, skipping the dilation's zeros.
//
//===----------------------------------------------------------------------===//

#include "GradientRule.h"
#include "dq/Training/GradientModels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Matchers.h"

#include <limits>

using namespace mlir;
using namespace mlir::dq;
using mlir::dq::gradient_rules::flipKernel;
using mlir::dq::gradient_rules::Rule;
using mlir::dq::gradient_rules::spreadOutputGrad;
using mlir::dq::gradient_rules::sumOfProducts;
using mlir::dq::gradient_rules::Window;
using mlir::dq::gradient_rules::windowPositions;

namespace {

RankedTensorType tensorType(ArrayRef<int64_t> shape, Type element) {
  return RankedTensorType::get(shape, element);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

template <typename OpTy, int Sign>
struct AddSubRule : Rule<AddSubRule<OpTy, Sign>, OpTy> {
  LogicalResult grad(OpTy op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    Location loc = op.getLoc();
    Value dy = dys[0];
    if (needed[0])
      grads[0] =
          tensormath::sumTo(b, loc, dy, tensormath::shapeOf(op->getOperand(0)));
    if (needed[1]) {
      Value g =
          tensormath::sumTo(b, loc, dy, tensormath::shapeOf(op->getOperand(1)));
      grads[1] = Sign > 0 ? g : tensormath::scale(b, loc, g, -1.0);
    }
    return success();
  }
};

struct MulRule : Rule<MulRule, tosa::MulOp> {
  LogicalResult grad(tosa::MulOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    Location loc = op.getLoc();
    Value x = op.getInput1(), y = op.getInput2(), dy = dys[0];
    if (needed[0])
      grads[0] = tensormath::sumTo(b, loc, tensormath::mul(b, loc, dy, y),
                                   tensormath::shapeOf(x));
    if (needed[1])
      grads[1] = tensormath::sumTo(b, loc, tensormath::mul(b, loc, dy, x),
                                   tensormath::shapeOf(y));
    return success();
  }
};

struct ClampRule : Rule<ClampRule, tosa::ClampOp> {
  LogicalResult grad(tosa::ClampOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (!needed[0])
      return success();
    auto minAttr = dyn_cast<FloatAttr>(op.getMinValAttr());
    auto maxAttr = dyn_cast<FloatAttr>(op.getMaxValAttr());
    if (!minAttr || !maxAttr)
      return op.emitError("gradient of tosa.clamp needs float bounds");
    double lo = minAttr.getValueAsDouble(), hi = maxAttr.getValueAsDouble();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    // Pass-through strictly inside the bounds (PyTorch's relu/hardtanh).
    // The clamped value is inside exactly when the input is (the bounds
    // themselves are outside, NaN compares false either way), and the
    // mask reads it instead: the step keeps the clamp's output anyway, and
    // the input, read by nothing else, fuses into the clamp.
    grads[0] = tensormath::map(
        b, loc, {op.getOutput(), dys[0]}, type,
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Type t = a[0].getType();
          Value loV = arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, lo));
          Value hiV = arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, hi));
          Value inside = arith::AndIOp::create(
              nb, l,
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, a[0],
                                    loV),
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLT, a[0],
                                    hiV));
          Value zero = arith::ConstantOp::create(nb, l, nb.getFloatAttr(t, 0));
          return arith::SelectOp::create(nb, l, inside, a[1], zero);
        });
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

struct ReshapeRule : Rule<ReshapeRule, tosa::ReshapeOp> {
  LogicalResult grad(tosa::ReshapeOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (needed[0])
      grads[0] = tensormath::reshape(b, op.getLoc(), dys[0],
                                     tensormath::shapeOf(op.getInput1()));
    return success();
  }
};

struct TransposeRule : Rule<TransposeRule, tosa::TransposeOp> {
  LogicalResult grad(tosa::TransposeOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (!needed[0])
      return success();
    ArrayRef<int32_t> perms = op.getPerms();
    SmallVector<int64_t> inverse(perms.size());
    for (auto [i, p] : llvm::enumerate(perms))
      inverse[p] = i;
    grads[0] = tensormath::transpose(b, op.getLoc(), dys[0], inverse);
    return success();
  }
};

static FailureOr<SmallVector<int64_t>> constShape(Operation *op, Value v) {
  DenseElementsAttr attr;
  auto shapeOp = v.getDefiningOp<tosa::ConstShapeOp>();
  if (!shapeOp || !(attr = dyn_cast<DenseElementsAttr>(shapeOp.getValues())))
    return op->emitError() << "gradient of '" << op->getName()
                           << "' needs constant shape operands";
  SmallVector<int64_t> values;
  for (const APInt &v : attr.getValues<APInt>())
    values.push_back(v.getSExtValue());
  return values;
}

struct SliceRule : Rule<SliceRule, tosa::SliceOp> {
  LogicalResult grad(tosa::SliceOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (!needed[0])
      return success();
    auto start = constShape(op, op.getStart());
    if (failed(start))
      return failure();
    // TOSA's verifier leaves constant bounds unchecked; the gradient's
    // insert would be invalid IR, the forward slice an out-of-bounds read.
    ArrayRef<int64_t> in = tensormath::shapeOf(op.getInput1());
    ArrayRef<int64_t> out = tensormath::shapeOf(op.getOutput());
    for (size_t d = 0; d < in.size() && d < start->size(); ++d)
      if ((*start)[d] < 0 || (*start)[d] > in[d] - out[d])
        return op.emitError()
               << "slice reads outside its input in dimension " << d
               << ": start " << (*start)[d] << " and size " << out[d]
               << " for a dimension of " << in[d];
    grads[0] = tensormath::insertIntoZeros(
        b, op.getLoc(), dys[0], tensormath::shapeOf(op.getInput1()), *start);
    return success();
  }
};

struct ConcatRule : Rule<ConcatRule, tosa::ConcatOp> {
  LogicalResult grad(tosa::ConcatOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    gradient_rules::concatGradients(b, op.getLoc(), dys[0], op.getInput1(),
                                    op.getAxis(), needed, grads);
    return success();
  }
};

struct ReduceSumRule : Rule<ReduceSumRule, tosa::ReduceSumOp> {
  LogicalResult grad(tosa::ReduceSumOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (!needed[0])
      return success();
    auto type = cast<RankedTensorType>(op.getInput().getType());
    // keep-dims result: broadcast back over the reduced axis.
    grads[0] = tensormath::map(
        b, op.getLoc(), {dys[0]}, type,
        [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

struct MatMulRule : Rule<MatMulRule, tosa::MatMulOp> {
  LogicalResult grad(tosa::MatMulOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    Location loc = op.getLoc();
    Value a = op.getA(), w = op.getB(), dy = dys[0];
    if (needed[0])
      grads[0] = tensormath::batchMatmul(
          b, loc, dy, tensormath::transpose(b, loc, w, {0, 2, 1}));
    if (needed[1])
      grads[1] = tensormath::batchMatmul(
          b, loc, tensormath::transpose(b, loc, a, {0, 2, 1}), dy);
    return success();
  }
};

Window windowOf(ArrayRef<int64_t> kernel, ArrayRef<int64_t> stride,
                ArrayRef<int64_t> dilation, ArrayRef<int64_t> pad) {
  return Window{kernel[0],
                kernel[1],
                stride[0],
                stride[1],
                dilation.empty() ? 1 : dilation[0],
                dilation.empty() ? 1 : dilation[1],
                pad[0],
                pad[1],
                pad[2],
                pad[3]};
}

/// The input rows (or columns) of one phase of a strided convolution's
/// input gradient: the inputs i with (i + pad) % stride == phase, which only
/// kernel taps k % stride == phase reach.
struct Phase {
  int64_t first = 0;  // the first such input
  int64_t count = 0;  // how many there are
  int64_t taps = 0;   // kernel taps k == phase (mod stride)
  int64_t base = 0;   // the offset of those taps in the flipped kernel
  int64_t origin = 0; // (first + pad - phase) / stride: its output row
};

Phase phaseOf(int64_t phase, int64_t stride, int64_t pad, int64_t kernel,
              int64_t inputSize) {
  Phase p;
  p.first = ((phase - pad) % stride + stride) % stride;
  p.count =
      p.first < inputSize ? (inputSize - p.first + stride - 1) / stride : 0;
  p.taps = phase < kernel ? (kernel - phase + stride - 1) / stride : 0;
  if (p.taps > 0)
    p.base = kernel - 1 - phase - stride * (p.taps - 1);
  p.origin = (p.first + pad - phase) / stride;
  return p;
}

/// Input gradient of a strided, undilated convolution, one phase (pair of
/// input row and column residues mod the stride) at a time: phase (a, b)
/// correlates the output gradient with the kernel taps (a + s*t, b + s*u)
/// only. The classic form correlates the stride-dilated output gradient
/// with the whole kernel, and stride*stride - 1 of every stride*stride
/// products it computes are products with inserted zeros. The nonzero
/// terms of every sum come in the same order (taps in flipped-kernel
/// order, then output channels), so the results are the same.
Value convInputGradByPhases(OpBuilder &b, Location loc, Value dy,
                            Value weight, ArrayRef<int64_t> inputShape,
                            const Window &w, bool depthwise) {
  MLIRContext *ctx = b.getContext();
  ArrayRef<int64_t> dyShape = tensormath::shapeOf(dy);
  SmallVector<Phase> rows, cols;
  for (int64_t a = 0; a < w.sh; ++a)
    rows.push_back(phaseOf(a, w.sh, w.pt, w.kh, inputShape[1]));
  for (int64_t a = 0; a < w.sw; ++a)
    cols.push_back(phaseOf(a, w.sw, w.pl, w.kw, inputShape[2]));
  // One zero-padded output gradient serves every phase: a phase's row m
  // reads output rows origin + m - t for its taps t.
  auto pads = [](ArrayRef<Phase> phases, int64_t size) {
    int64_t low = 0, high = 0;
    for (const Phase &p : phases) {
      if (p.taps == 0 || p.count == 0)
        continue;
      low = std::max(low, p.taps - 1 - p.origin);
      high = std::max(high, p.origin + p.count - size);
    }
    return std::make_pair(low, high);
  };
  auto [padTop, padBottom] = pads(rows, dyShape[1]);
  auto [padLeft, padRight] = pads(cols, dyShape[2]);
  Value dyp = tensormath::padZeros(b, loc, dy, {0, padTop, padLeft, 0},
                                   {0, padBottom, padRight, 0});
  Value flipped = depthwise ? flipKernel(b, loc, weight, 0, 1)
                            : flipKernel(b, loc, weight, 1, 2);
  ArrayRef<int64_t> kShape = tensormath::shapeOf(flipped);
  Type element = cast<RankedTensorType>(dy.getType()).getElementType();
  // Inputs no tap reaches (the odd rows of a 1x1 kernel's) get zeros.
  auto reached = [](const Phase &p) { return p.taps > 0 || p.count == 0; };
  Value dx = tensor::EmptyOp::create(b, loc, inputShape, element);
  if (!llvm::all_of(rows, reached) || !llvm::all_of(cols, reached)) {
    Value zero =
        arith::ConstantOp::create(b, loc, b.getFloatAttr(element, 0.0));
    dx = linalg::FillOp::create(b, loc, zero, dx).getResult(0);
  }
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  for (const Phase &r : rows)
    for (const Phase &c : cols) {
      if (!r.taps || !c.taps || !r.count || !c.count)
        continue;
      // Flipped-kernel index base + s*t is tap kernel-1-(base + s*t).
      Value taps =
          depthwise
              ? tensormath::stridedSlice(
                    b, loc, flipped, {r.base, c.base, 0, 0},
                    {r.taps, c.taps, kShape[2], kShape[3]}, {w.sh, w.sw, 1, 1})
              : tensormath::stridedSlice(
                    b, loc, flipped, {0, r.base, c.base, 0},
                    {kShape[0], r.taps, c.taps, kShape[3]}, {1, w.sh, w.sw, 1});
      int64_t offH = r.origin - (r.taps - 1) + padTop;
      int64_t offW = c.origin - (c.taps - 1) + padLeft;
      SmallVector<int64_t> outShape = {inputShape[0], r.count, c.count,
                                       inputShape[3]};
      AffineMap outMap;
      AffineMap dyMap, wMap;
      if (!depthwise) {
        // dims: n h w c t u o
        dyMap = AffineMap::get(
            7, 0, {d(0), d(1) + d(4) + offH, d(2) + d(5) + offW, d(6)}, ctx);
        wMap = AffineMap::get(7, 0, {d(6), d(4), d(5), d(3)}, ctx);
        outMap = AffineMap::get(7, 0, {d(0), d(1), d(2), d(3)}, ctx);
      } else {
        // dims: n h w c t u
        dyMap = AffineMap::get(
            6, 0, {d(0), d(1) + d(4) + offH, d(2) + d(5) + offW, d(3)}, ctx);
        wMap = AffineMap::get(
            6, 0, {d(4), d(5), d(3), getAffineConstantExpr(0, ctx)}, ctx);
        outMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
      }
      Value part =
          sumOfProducts(b, loc, dyp, dyMap, taps, wMap, outMap, outShape);
      dx = tensormath::insertStrided(b, loc, part, dx,
                                     {0, r.first, c.first, 0},
                                     {1, w.sh, w.sw, 1});
    }
  return dx;
}

/// Input gradient of an NHWC convolution (depthwise: weight [KH,KW,C,1]).
Value convInputGrad(OpBuilder &b, Location loc, Value dy, Value weight,
                    ArrayRef<int64_t> inputShape, const Window &w,
                    bool depthwise) {
  if ((w.sh > 1 || w.sw > 1) && w.dh == 1 && w.dw == 1)
    return convInputGradByPhases(b, loc, dy, weight, inputShape, w,
                                 depthwise);
  MLIRContext *ctx = b.getContext();
  int64_t paddedH = inputShape[1] + w.pt + w.pb;
  int64_t paddedW = inputShape[2] + w.pl + w.pr;
  Value spread = spreadOutputGrad(b, loc, dy, w, paddedH, paddedW);
  // Only the rows and columns of the unpadded input: the correlation then
  // computes no output that the forward padding would crop (on the 7x7
  // stage of a ResNet, 9x9 outputs for 7x7).
  ArrayRef<int64_t> spreadShape = tensormath::shapeOf(spread);
  Value dyp = tensormath::slice(
      b, loc, spread, {0, w.pt, w.pl, 0},
      {spreadShape[0], inputShape[1] + w.extentH(),
       inputShape[2] + w.extentW(), spreadShape[3]});
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto c = [&](int64_t v) { return getAffineConstantExpr(v, ctx); };
  SmallVector<int64_t> outShape(inputShape.begin(), inputShape.end());
  // Kernel dims as plain loop dims keep the indexing maps invertible.
  Value flipped = depthwise ? flipKernel(b, loc, weight, 0, 1)
                            : flipKernel(b, loc, weight, 1, 2);
  Value dx;
  if (!depthwise) {
    // dims: n h w c kh kw o
    AffineMap dyMap = AffineMap::get(
        7, 0, {d(0), d(1) + d(4) * w.dh, d(2) + d(5) * w.dw, d(6)}, ctx);
    AffineMap wMap = AffineMap::get(7, 0, {d(6), d(4), d(5), d(3)}, ctx);
    AffineMap outMap = AffineMap::get(7, 0, {d(0), d(1), d(2), d(3)}, ctx);
    dx = sumOfProducts(b, loc, dyp, dyMap, flipped, wMap, outMap, outShape);
  } else {
    // dims: n h w c kh kw
    AffineMap dyMap = AffineMap::get(
        6, 0, {d(0), d(1) + d(4) * w.dh, d(2) + d(5) * w.dw, d(3)}, ctx);
    AffineMap wMap = AffineMap::get(6, 0, {d(4), d(5), d(3), c(0)}, ctx);
    AffineMap outMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
    dx = sumOfProducts(b, loc, dyp, dyMap, flipped, wMap, outMap, outShape);
  }
  return dx;
}

/// Weight gradient of an NHWC convolution.
Value convWeightGrad(OpBuilder &b, Location loc, Value dy, Value input,
                     ArrayRef<int64_t> weightShape, const Window &w,
                     bool depthwise) {
  MLIRContext *ctx = b.getContext();
  Value xp = tensormath::padZeros(b, loc, input, {0, w.pt, w.pl, 0},
                                  {0, w.pb, w.pr, 0});
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  if (!depthwise) {
    // dims: o kh kw c n oh ow
    AffineMap dyMap = AffineMap::get(7, 0, {d(4), d(5), d(6), d(0)}, ctx);
    AffineMap xMap = AffineMap::get(
        7, 0,
        {d(4), d(5) * w.sh + d(1) * w.dh, d(6) * w.sw + d(2) * w.dw, d(3)},
        ctx);
    AffineMap outMap = AffineMap::get(7, 0, {d(0), d(1), d(2), d(3)}, ctx);
    return sumOfProducts(b, loc, dy, dyMap, xp, xMap, outMap, weightShape);
  }
  // dims: kh kw c n oh ow; weight [KH, KW, C, 1]
  AffineMap dyMap = AffineMap::get(6, 0, {d(3), d(4), d(5), d(2)}, ctx);
  AffineMap xMap = AffineMap::get(
      6, 0, {d(3), d(4) * w.sh + d(0) * w.dh, d(5) * w.sw + d(1) * w.dw, d(2)},
      ctx);
  AffineMap outMap = AffineMap::get(
      6, 0, {d(0), d(1), d(2), getAffineConstantExpr(0, ctx)}, ctx);
  return sumOfProducts(b, loc, dy, dyMap, xp, xMap, outMap, weightShape);
}

template <typename ConvOp, bool Depthwise>
struct ConvRule : Rule<ConvRule<ConvOp, Depthwise>, ConvOp> {
  LogicalResult grad(ConvOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    Location loc = op.getLoc();
    Value dy = dys[0];
    ArrayRef<int64_t> weightShape = tensormath::shapeOf(op.getWeight());
    if (Depthwise && weightShape[3] != 1)
      return op.emitError("gradient of tosa.depthwise_conv2d supports "
                          "channel multiplier 1 only");
    int64_t kh = Depthwise ? weightShape[0] : weightShape[1];
    int64_t kw = Depthwise ? weightShape[1] : weightShape[2];
    Window w =
        windowOf({kh, kw}, op.getStride(), op.getDilation(), op.getPad());
    if (needed[0])
      grads[0] =
          convInputGrad(b, loc, dy, op.getWeight(),
                        tensormath::shapeOf(op.getInput()), w, Depthwise);
    if (needed[1])
      grads[1] =
          convWeightGrad(b, loc, dy, op.getInput(), weightShape, w, Depthwise);
    if (needed[2])
      grads[2] = tensormath::sumPerChannel(b, loc, dy, 3);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// The window geometry of an NHWC pool and the affine maps its gradient
/// generics share: loops (n, h, w, c, kh, kw) over the padded input, where
/// `spread` reads a spread output gradient (spreadOutputGrad) at
/// (n, h + kh, w + kw, c), `element` is (n, h, w, c) and `kernel` (kh, kw).
struct PoolGeometry {
  SmallVector<int64_t> inShape, outShape;
  Window w;
  int64_t paddedH, paddedW;
  AffineMap spread, element, kernel;

  template <typename PoolOp>
  explicit PoolGeometry(PoolOp op)
      : inShape(tensormath::shapeOf(op.getInput())),
        outShape(tensormath::shapeOf(op.getOutput())),
        w(windowOf(op.getKernel(), op.getStride(), {}, op.getPad())),
        paddedH(inShape[1] + w.pt + w.pb), paddedW(inShape[2] + w.pl + w.pr) {
    MLIRContext *ctx = op.getContext();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    spread = AffineMap::get(6, 0, {d(0), d(1) + d(4), d(2) + d(5), d(3)}, ctx);
    element = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
    kernel = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
  }
  SmallVector<int64_t> paddedShape() const {
    return {inShape[0], paddedH, paddedW, inShape[3]};
  }
  /// The input gradient: `padded` without the forward padding.
  Value crop(OpBuilder &b, Location loc, Value padded) const {
    return tensormath::slice(b, loc, padded, {0, w.pt, w.pl, 0}, inShape);
  }
};

struct AvgPoolRule : Rule<AvgPoolRule, tosa::AvgPool2dOp> {
  LogicalResult grad(tosa::AvgPool2dOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (!needed[0])
      return success();
    Location loc = op.getLoc();
    PoolGeometry g(op);
    const Window &w = g.w;
    // TOSA divides by the number of window elements that are not padding.
    auto countAlong = [](int64_t o, int64_t k, int64_t s, int64_t pad,
                         int64_t size) {
      int64_t start = o * s - pad;
      int64_t lo = std::max<int64_t>(start, 0);
      int64_t hi = std::min<int64_t>(start + k, size);
      return std::max<int64_t>(hi - lo, 1);
    };
    SmallVector<float> inverse;
    for (int64_t oh = 0; oh < g.outShape[1]; ++oh)
      for (int64_t ow = 0; ow < g.outShape[2]; ++ow)
        inverse.push_back(1.0f /
                          (countAlong(oh, w.kh, w.sh, w.pt, g.inShape[1]) *
                           countAlong(ow, w.kw, w.sw, w.pl, g.inShape[2])));
    auto countType =
        tensorType({1, g.outShape[1], g.outShape[2], 1}, b.getF32Type());
    Value inv = arith::ConstantOp::create(
        b, loc, countType,
        DenseElementsAttr::get(countType, ArrayRef(inverse)));
    Value scaled = tensormath::mul(b, loc, dys[0], inv);
    Value dyp = spreadOutputGrad(b, loc, scaled, w, g.paddedH, g.paddedW);
    Value ones = tensormath::splat(
        b, loc, tensorType({w.kh, w.kw}, b.getF32Type()), 1.0);
    Value dxPadded = sumOfProducts(b, loc, dyp, g.spread, ones, g.kernel,
                                   g.element, g.paddedShape());
    grads[0] = g.crop(b, loc, dxPadded);
    return success();
  }
};

struct MaxPoolRule : Rule<MaxPoolRule, tosa::MaxPool2dOp> {
  LogicalResult grad(tosa::MaxPool2dOp op, OpBuilder &b, ValueRange dys,
                     ArrayRef<bool> needed,
                     SmallVectorImpl<Value> &grads) const {
    if (!needed[0])
      return success();
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    PoolGeometry g(op);
    const Window &w = g.w;
    Type f32 = b.getF32Type();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };

    // 1. Window position (kh * KW + kw) of the first maximum, as f32.
    SmallVector<OpFoldResult> low = {b.getIndexAttr(0), b.getIndexAttr(w.pt),
                                     b.getIndexAttr(w.pl), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> high = {b.getIndexAttr(0), b.getIndexAttr(w.pb),
                                      b.getIndexAttr(w.pr), b.getIndexAttr(0)};
    Value negInf = arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
    Value xp = tensor::PadOp::create(b, loc, tensorType(g.paddedShape(), f32),
                                     op.getInput(), low, high, negInf);
    auto outType = tensorType(g.outShape, f32);
    Value bestInit = tensormath::splat(b, loc, outType,
                                       -std::numeric_limits<float>::infinity());
    Value argInit = tensormath::splat(b, loc, outType, -1.0);
    // dims: n oh ow c kh kw
    AffineMap xMap = AffineMap::get(
        6, 0, {d(0), d(1) * w.sh + d(4), d(2) * w.sw + d(5), d(3)}, ctx);
    SmallVector<utils::IteratorType> iterators(4,
                                               utils::IteratorType::parallel);
    iterators.append(2, utils::IteratorType::reduction);
    Value positions =
        windowPositions(b, loc, f32, w.kh, w.kw, /*flipped=*/false);
    auto argmax = linalg::GenericOp::create(
        b, loc, TypeRange{outType, outType}, ValueRange{xp, positions},
        ValueRange{bestInit, argInit},
        ArrayRef<AffineMap>{xMap, g.kernel, g.element, g.element}, iterators,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          // Strictly greater: the first maximum in window order wins.
          Value better = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT,
                                               a[0], a[2]);
          linalg::YieldOp::create(
              nb, l,
              ValueRange{arith::SelectOp::create(nb, l, better, a[0], a[2]),
                         arith::SelectOp::create(nb, l, better, a[1], a[3])});
        });
    Value arg = argmax.getResult(1);

    // 2. Route each output gradient to its window's maximum.
    Value dyp = spreadOutputGrad(b, loc, dys[0], w, g.paddedH, g.paddedW);
    Value argp = spreadOutputGrad(b, loc, arg, w, g.paddedH, g.paddedW);
    auto paddedType = tensorType(g.paddedShape(), f32);
    Value init = tensormath::splat(b, loc, paddedType, 0.0);
    // The window whose spread gradient sits at offset (kh, kw) from here
    // reads this element at its position (KH-1-kh) * KW + (KW-1-kw).
    Value flippedPositions =
        windowPositions(b, loc, f32, w.kh, w.kw, /*flipped=*/true);
    auto route = linalg::GenericOp::create(
        b, loc, paddedType, ValueRange{dyp, argp, flippedPositions},
        ValueRange{init},
        ArrayRef<AffineMap>{g.spread, g.spread, g.kernel, g.element}, iterators,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value hit = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                            a[1], a[2]);
          Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0));
          Value add = arith::SelectOp::create(nb, l, hit, a[0], zero);
          linalg::YieldOp::create(
              nb, l, arith::AddFOp::create(nb, l, a[3], add).getResult());
        });
    grads[0] = g.crop(b, loc, route.getResult(0));
    return success();
  }
};

} // namespace

void mlir::dq::registerGradientExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tosa::TosaDialect *) {
    tosa::AddOp::attachInterface<AddSubRule<tosa::AddOp, 1>>(*ctx);
    tosa::SubOp::attachInterface<AddSubRule<tosa::SubOp, -1>>(*ctx);
    tosa::MulOp::attachInterface<MulRule>(*ctx);
    tosa::ClampOp::attachInterface<ClampRule>(*ctx);
    tosa::ReshapeOp::attachInterface<ReshapeRule>(*ctx);
    tosa::TransposeOp::attachInterface<TransposeRule>(*ctx);
    tosa::SliceOp::attachInterface<SliceRule>(*ctx);
    tosa::ConcatOp::attachInterface<ConcatRule>(*ctx);
    tosa::ReduceSumOp::attachInterface<ReduceSumRule>(*ctx);
    tosa::MatMulOp::attachInterface<MatMulRule>(*ctx);
    tosa::Conv2DOp::attachInterface<ConvRule<tosa::Conv2DOp, false>>(*ctx);
    tosa::DepthwiseConv2DOp::attachInterface<
        ConvRule<tosa::DepthwiseConv2DOp, true>>(*ctx);
    tosa::AvgPool2dOp::attachInterface<AvgPoolRule>(*ctx);
    tosa::MaxPool2dOp::attachInterface<MaxPoolRule>(*ctx);
  });
  registerLinalgGradientModels(registry);
}
