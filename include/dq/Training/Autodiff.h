//===- Autodiff.h - reverse-mode differentiation of a block -----*- C++ -*-===//

#ifndef DQ_TRAINING_AUTODIFF_H
#define DQ_TRAINING_AUTODIFF_H

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::dq {

/// Builds, at `builder`'s insertion point (after every op of `block` the
/// outputs depend on), the gradients of `sum_i <outputGrads[i], outputs[i]>`
/// with respect to `inputs`. Ops between the inputs and the outputs are
/// differentiated with their GradientOpInterface rules, in reverse program
/// order; an op on that path without a rule is an error at its location.
///
/// Returns one gradient per input (a zero tensor if an input does not
/// influence the outputs).
FailureOr<SmallVector<Value>> buildReverseMode(OpBuilder &builder, Block &block,
                                               ValueRange outputs,
                                               ValueRange outputGrads,
                                               ValueRange inputs);

} // namespace mlir::dq

#endif // DQ_TRAINING_AUTODIFF_H
