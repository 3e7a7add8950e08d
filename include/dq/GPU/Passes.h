//===- Passes.h - dq GPU passes ---------------------------------*- C++ -*-===//

#ifndef DQ_GPU_PASSES_H
#define DQ_GPU_PASSES_H

#include "dq/GPU/Options.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace mlir::dq {

#define GEN_PASS_DECL
#include "dq/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dq/GPU/Passes.h.inc"

} // namespace mlir::dq

#endif // DQ_GPU_PASSES_H
