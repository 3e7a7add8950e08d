//===- DQDialect.h - dq dialect ---------------------------------*- C++ -*-===//

#ifndef DQ_DIALECT_DQDIALECT_H
#define DQ_DIALECT_DQDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Dialect.h"

#include "dialects/dq/DQDialect.h.inc"

#endif // DQ_DIALECT_DQDIALECT_H
