//===- Passes.h - dq transformation passes ----------------------*- C++ -*-===//

#ifndef DQ_TRANSFORMS_PASSES_H
#define DQ_TRANSFORMS_PASSES_H

#include "dialects/dq/DQDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::dq {

#define GEN_PASS_DECL
#include "dq/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dq/Transforms/Passes.h.inc"

} // namespace mlir::dq

#endif // DQ_TRANSFORMS_PASSES_H
