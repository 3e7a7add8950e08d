//===- Passes.h - training-graph passes -------------------------*- C++ -*-===//

#ifndef DQ_TRAINING_PASSES_H
#define DQ_TRAINING_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::dq {

#define GEN_PASS_DECL
#include "dq/Training/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dq/Training/Passes.h.inc"

} // namespace mlir::dq

#endif // DQ_TRAINING_PASSES_H
