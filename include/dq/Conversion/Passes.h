//===- Passes.h - dq conversion passes --------------------------*- C++ -*-===//

#ifndef DQ_CONVERSION_PASSES_H
#define DQ_CONVERSION_PASSES_H

#include "dq/Conversion/DQToLinalg/DQToLinalg.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::dq {

#define GEN_PASS_DECL
#include "dq/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dq/Conversion/Passes.h.inc"

/// dq-split-functions marks each function it split with the number of its
/// pieces: what is left of it is glue (buffer bookkeeping and calls), which
/// dq-compile has LLVM select without its DAG combiner.
constexpr llvm::StringLiteral kSplitPiecesAttr = "dq.pieces";

} // namespace mlir::dq

#endif // DQ_CONVERSION_PASSES_H
