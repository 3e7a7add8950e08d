//===- LinalgGradients.cpp - reverse-mode rules of tensor ops -------------===//
//
// External models of GradientOpInterface for the tensor ops that upstream
// tosa-to-linalg(-named) and tosa-to-tensor emit around the layers:
// reshapes, slices, concatenation and explicit padding.
//
//===----------------------------------------------------------------------===//

#include "GradientRule.h"
#include "dq/Training/GradientModels.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::dq;

namespace {

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
}
