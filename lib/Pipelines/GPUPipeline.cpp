//===- GPUPipeline.cpp - dq-lower-to-nvvm ---------------------------------===//

#include "dq/Pipelines/GPUPipeline.h"
#include "dq/Pipelines/Pipelines.h"

#include "dq/Conversion/Passes.h"
#include "dq/GPU/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Tosa/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// The CUDA toolkit gpu-module-to-binary takes libdevice (and, for cubins,
/// ptxas) from: the option, else $CUDA_ROOT, $CUDA_HOME, $CUDA_PATH, else
/// /usr/local/cuda.
static std::string cudaToolkitPath(StringRef option) {
  if (!option.empty())
    return option.str();
  for (const char *name : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (const char *value = std::getenv(name))
      if (*value)
        return value;
  return "/usr/local/cuda";
}

void mlir::dq::buildLowerToNVVMPipeline(OpPassManager &pm,
                                        const LowerToNVVMOptions &options) {
  // dq and TOSA to linalg on tensors, elementwise producers fused into their
  // consumers (one kernel each instead of a buffer round trip).
  addModelToLinalgPasses(pm);
  pm.addNestedPass<func::FuncOp>(createDQGPUParallelDimsFirst());
  pm.addPass(createCanonicalizerPass());

  // Tensors to buffers. Buffers are freed when the entry point returns
  // (dq-gpu-device-buffers), so no deallocation pipeline.
  addOneShotBufferizePass(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createCanonicalizerPass());

  // One kernel per linalg op, outlined; buffers on the device; launches,
  // copies and frees chained on one stream per call.
  DQGPUMapToLaunchesOptions mapOptions;
  mapOptions.blockSize = options.blockSize;
  mapOptions.sharedMemoryTiles = options.sharedMemoryTiles;
  mapOptions.sharedMemoryBytes = options.sharedMemoryBytes;
  mapOptions.deterministic = options.deterministic;
  mapOptions.splitBlocks = options.splitBlocks;
  pm.addNestedPass<func::FuncOp>(createDQGPUMapToLaunches(mapOptions));
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createDQGPUMergeKernelModules());
  // After outlining: the canonicalizer would hoist the constants out of
  // (non-isolated) gpu.launch bodies.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createDQGPUDeviceBuffers());
  // Splat globals now set on the device are no longer read.
  pm.addPass(createSymbolDCEPass());
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  if (options.emitCInterface)
    pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());

  // Kernels to NVVM and a gpu.binary; host code to the LLVM dialect (the
  // order of MLIR's gpu-lower-to-nvvm-pipeline, plus the CUDA toolkit path
  // that pipeline cannot take: libdevice, which math functions such as
  // rsqrt call, is linked from there).
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions targetOptions;
  targetOptions.chip = options.chip;
  targetOptions.features = options.features;
  targetOptions.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(targetOptions));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  pm.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binaryOptions;
  binaryOptions.compilationTarget = options.format;
  binaryOptions.toolkitPath = cudaToolkitPath(options.cudaPath);
  pm.addPass(createGpuModuleToBinaryPass(binaryOptions));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::dq::registerGPUPipelines() {
  PassPipelineRegistration<LowerToNVVMOptions>(
      "dq-lower-to-nvvm",
      "Lowers quantized models and training steps (dq + TOSA/linalg on "
      "tensors) to NVIDIA GPU kernels (PTX/cubin in gpu.binary) and LLVM "
      "host code that launches them through the mgpu* runtime",
      buildLowerToNVVMPipeline);
}
