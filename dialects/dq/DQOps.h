//===- DQOps.h - dq dialect attributes and operations -----------*- C++ -*-===//

#ifndef DQ_DIALECT_DQOPS_H
#define DQ_DIALECT_DQOPS_H

#include "dialects/dq/DQDialect.h"
#include "dq/Interfaces/GradientOpInterface.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/dq/DQEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/dq/DQAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/dq/DQOps.h.inc"

namespace mlir::dq {
/// Bounds shared by attributes, ops and pass options.
constexpr unsigned kMinBits = 1;
constexpr unsigned kMaxBits = 8;

/// A unit attribute on a linalg.generic that dq-vectorize-generics must
/// leave scalar (set by lowerings whose loops the vectorizer's recipe does
/// not fit).
constexpr llvm::StringLiteral kKeepScalarAttr = "dq.keep_scalar";
} // namespace mlir::dq

#endif // DQ_DIALECT_DQOPS_H
