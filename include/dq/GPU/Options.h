//===- Options.h - Defaults and limits of the GPU options -------*- C++ -*-===//
//
// The one owner of the GPU lowering's option values: dq-gpu-map-to-launches
// (Passes.td) and dq-lower-to-nvvm (GPUPipeline.h) take their defaults
// from here, and dq-compile's --gpu-* help quotes them. No MLIR includes, so
// a tool can use it without the GPU passes.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_GPU_OPTIONS_H
#define DQ_GPU_OPTIONS_H

#include <cstdint>

namespace mlir::dq {

/// Defaults: the GPU architecture and PTX features (an H100/H200 with CUDA
/// 12 or later), what is embedded ("isa": PTX the driver compiles at load),
/// threads per block, static shared memory per block for a tile's staged
/// inputs, and the blocks a split reduction aims for (132 SMs of an
/// H100/H200 hold 8 or more blocks each).
inline constexpr const char *kDefaultGPUChip = "sm_90";
inline constexpr const char *kDefaultGPUFeatures = "+ptx80";
inline constexpr const char *kDefaultGPUFormat = "isa";
inline constexpr int64_t kDefaultGPUBlockSize = 256;
inline constexpr int64_t kDefaultGPUSharedMemoryBytes = 16384;
inline constexpr int64_t kDefaultGPUSplitBlocks = 1024;

/// Limits, checked by the pass and, once for a whole pipeline, by
/// checkLowerToNVVMOptions: threads per block, static shared memory per
/// block (48 KiB), blocks a split reduction aims for.
inline constexpr int64_t kMaxGPUBlockSize = 1024;
inline constexpr int64_t kMaxGPUSharedMemoryBytes = 48 * 1024;
inline constexpr int64_t kMaxGPUSplitBlocks = int64_t(1) << 20;

} // namespace mlir::dq

#endif // DQ_GPU_OPTIONS_H
