//===- Passes.h - dq GPU passes ---------------------------------*- C++ -*-===//

#ifndef DQ_GPU_PASSES_H
#define DQ_GPU_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace mlir::dq {

/// Limits of dq-gpu-map-to-launches' options, checked by the pass and, once
/// for a whole pipeline, by checkLowerToNVVMOptions: threads per block,
/// static shared memory per block (48 KiB), blocks a split reduction aims
/// for.
inline constexpr int64_t kMaxGPUBlockSize = 1024;
inline constexpr int64_t kMaxGPUSharedMemoryBytes = 48 * 1024;
inline constexpr int64_t kMaxGPUSplitBlocks = int64_t(1) << 20;

#define GEN_PASS_DECL
#include "dq/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dq/GPU/Passes.h.inc"

} // namespace mlir::dq

#endif // DQ_GPU_PASSES_H
