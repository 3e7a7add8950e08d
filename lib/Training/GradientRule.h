//===- GradientRule.h - shared pieces of the gradient rules -----*- C++ -*-===//
//
// The base of the GradientOpInterface external models of TosaGradients.cpp
// and LinalgGradients.cpp, and the rules both dialects' ops share.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_LIB_TRAINING_GRADIENTRULE_H
#define DQ_LIB_TRAINING_GRADIENTRULE_H

#include "dq/Interfaces/GradientOpInterface.h"
#include "dq/Interfaces/TensorMath.h"

#include "mlir/IR/AffineMap.h"

namespace mlir::dq::gradient_rules {

/// Base for external models: fills `grads` with nulls, runs the model's
/// `checkOp` (none by default) and dispatches to its `grad`.
template <typename Model, typename OpTy>
struct Rule : public GradientOpInterface::ExternalModel<Model, OpTy> {
  static LogicalResult checkOp(Operation *) { return success(); }

  LogicalResult buildGradients(Operation *op, OpBuilder &b,
                               ValueRange resultGrads, ArrayRef<bool> needed,
                               SmallVectorImpl<Value> &grads) const {
    grads.assign(op->getNumOperands(), Value());
    if (failed(Model::checkOp(op)))
      return failure();
    return static_cast<const Model *>(this)->grad(cast<OpTy>(op), b,
                                                  resultGrads, needed, grads);
  }
};

/// The gradient of a concatenation of `inputs` along `axis`: each needed
/// input's slice of `dy`.
inline void concatGradients(OpBuilder &b, Location loc, Value dy,
                            ValueRange inputs, int64_t axis,
                            ArrayRef<bool> needed,
                            SmallVectorImpl<Value> &grads) {
  int64_t offset = 0;
  for (auto [i, input] : llvm::enumerate(inputs)) {
    ArrayRef<int64_t> shape = tensormath::shapeOf(input);
    if (needed[i]) {
      SmallVector<int64_t> offsets(shape.size(), 0);
      offsets[axis] = offset;
      grads[i] = tensormath::slice(b, loc, dy, offsets, shape);
    }
    offset += shape[axis];
  }
}

/// out[outMap] += x[xMap] * y[yMap], out starting at zeros of `outShape`;
/// loops missing from `outMap` are reductions.
Value sumOfProducts(OpBuilder &b, Location loc, Value x, AffineMap xMap,
                    Value y, AffineMap yMap, AffineMap outMap,
                    ArrayRef<int64_t> outShape);

/// Geometry of a 2-d sliding window over NHWC data (pads t, b, l, r).
struct Window {
  int64_t kh, kw, sh, sw, dh, dw, pt, pb, pl, pr;
  int64_t extentH() const { return (kh - 1) * dh; }
  int64_t extentW() const { return (kw - 1) * dw; }
};

/// The NHWC output gradient dilated by the stride and padded by the kernel
/// extent so that the input gradient (in padded coordinates) is
/// sum_k dyp[h + k * d] * flip(w)[k].
Value spreadOutputGrad(OpBuilder &b, Location loc, Value dy, const Window &w,
                       int64_t paddedH, int64_t paddedW);

/// `x` reversed along dimensions `dimA` and `dimB` (a kernel's spatial
/// dims).
Value flipKernel(OpBuilder &b, Location loc, Value x, unsigned dimA,
                 unsigned dimB);

/// [KH, KW] constant of window positions pos(kh, kw) = kh * KW + kw, or its
/// flip (KH-1-kh) * KW + (KW-1-kw) when `flipped`, of type `element`.
Value windowPositions(OpBuilder &b, Location loc, Type element, int64_t kh,
                      int64_t kw, bool flipped);

/// Attaches the rules of linalg.generic and linalg.reduce, whose scalar
/// payloads are differentiated symbolically (PayloadGradients.cpp).
void attachPayloadRules(MLIRContext *ctx);

} // namespace mlir::dq::gradient_rules

#endif // DQ_LIB_TRAINING_GRADIENTRULE_H
