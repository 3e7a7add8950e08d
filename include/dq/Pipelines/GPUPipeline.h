//===- GPUPipeline.h - dq-lower-to-nvvm -------------------------*- C++ -*-===//

#ifndef DQ_PIPELINES_GPUPIPELINE_H
#define DQ_PIPELINES_GPUPIPELINE_H

#include "dq/GPU/Options.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <optional>
#include <string>

namespace mlir::dq {

struct LowerToNVVMOptions : public PassPipelineOptions<LowerToNVVMOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("NVIDIA GPU architecture (sm_80, sm_90)"),
      llvm::cl::init(kDefaultGPUChip)};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features, e.g. +ptx80 (PTX ISA 8.0, CUDA 12)"),
      llvm::cl::init(kDefaultGPUFeatures)};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What gpu-module-to-binary embeds: 'isa' (PTX, compiled "
                     "by the driver when loaded; needs no CUDA toolkit), "
                     "'bin' (cubin, needs ptxas) or 'fatbin'"),
      llvm::cl::init(kDefaultGPUFormat)};
  PassOptions::Option<int> optLevel{
      *this, "opt-level", llvm::cl::desc("Optimization level of the kernels"),
      llvm::cl::init(3)};
  PassOptions::Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block of the elementwise/reduction kernels"),
      llvm::cl::init(kDefaultGPUBlockSize)};
  PassOptions::Option<bool> sharedMemoryTiles{
      *this, "shared-memory-tiles",
      llvm::cl::desc("Tile convolutions and matmuls, staging their shared "
                     "inputs in shared memory"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> sharedMemoryBytes{
      *this, "shared-memory-bytes",
      llvm::cl::desc("Shared memory per block for a tile's staged inputs"),
      llvm::cl::init(kDefaultGPUSharedMemoryBytes)};
  PassOptions::Option<int64_t> splitBlocks{
      *this, "split-blocks",
      llvm::cl::desc("Blocks to aim for when a tiled reduction (a weight "
                     "gradient) is split over blocks"),
      llvm::cl::init(kDefaultGPUSplitBlocks)};
  PassOptions::Option<bool> deterministic{
      *this, "deterministic",
      llvm::cl::desc("Every reduction in the sequential order (no atomics): "
                     "bit-reproducible, slower"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> cudaPath{
      *this, "cuda-path",
      llvm::cl::desc("CUDA toolkit with nvvm/libdevice (and ptxas for "
                     "format=bin); default: $CUDA_ROOT, $CUDA_HOME, "
                     "$CUDA_PATH or /usr/local/cuda"),
      llvm::cl::init("")};
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Also emit _mlir_ciface_<name> wrappers (what the runtime "
                     "calls)"),
      llvm::cl::init(false)};
};

/// dq-lower-to-nvvm: dq + TOSA + linalg on tensors to GPU kernels (embedded
/// as PTX or cubin in gpu.binary ops) and LLVM-dialect host code that
/// allocates device buffers and launches them through the mgpu* runtime
/// functions (runtime/cuda). Entry points keep the CPU build's calling
/// convention: host memrefs in, host memrefs out.
/// Invalid options make it a pipeline of one pass that fails with the
/// message of checkLowerToNVVMOptions.
void buildLowerToNVVMPipeline(OpPassManager &pm,
                              const LowerToNVVMOptions &options);

/// Why `options` are invalid ("dq-lower-to-nvvm: option chip must be ...,
/// got ''"), or std::nullopt: chip sm_NN[a|f], features +ptxNN, format
/// isa|bin|fatbin, opt-level 0-3, block-size 1-1024, shared-memory-bytes
/// 0-49152, split-blocks >= 1.
std::optional<std::string>
checkLowerToNVVMOptions(const LowerToNVVMOptions &options);

void registerGPUPipelines();

} // namespace mlir::dq

#endif // DQ_PIPELINES_GPUPIPELINE_H
