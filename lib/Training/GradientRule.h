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

} // namespace mlir::dq::gradient_rules

#endif // DQ_LIB_TRAINING_GRADIENTRULE_H
