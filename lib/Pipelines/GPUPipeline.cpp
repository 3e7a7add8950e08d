//===- GPUPipeline.cpp - dq-lower-to-nvvm ---------------------------------===//

#include "dq/Pipelines/GPUPipeline.h"

#include "dq/Conversion/Passes.h"
#include "dq/GPU/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Tosa/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::dq::buildLowerToNVVMPipeline(OpPassManager &pm,
                                        const LowerToNVVMOptions &options) {
  // dq and TOSA to linalg on tensors, elementwise producers fused into their
  // consumers (one kernel each instead of a buffer round trip).
  pm.addPass(createConvertDQToLinalg());
  TosaToLinalgNamedOptions namedOptions;
  // Filters contiguous in the output channel: neighbouring threads (which
  // compute neighbouring output channels) read neighbouring weights.
  namedOptions.preferConv2DKernelLayoutHWCF = true;
  tosa::addTosaToLinalgPasses(pm, TosaToLinalgOptions(), namedOptions);
  pm.addNestedPass<func::FuncOp>(createTosaToArithPass());
  pm.addNestedPass<func::FuncOp>(createTosaToTensorPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createLinalgElementwiseOpFusionPass());
  pm.addNestedPass<func::FuncOp>(createLinalgGeneralizeNamedOpsPass());
  pm.addNestedPass<func::FuncOp>(createDQGPUParallelDimsFirst());
  pm.addPass(createCanonicalizerPass());

  // Tensors to buffers. Buffers are freed when the entry point returns
  // (dq-gpu-device-buffers), so no deallocation pipeline.
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createCanonicalizerPass());

  // One kernel per linalg op, outlined; buffers on the device; launches,
  // copies and frees chained on one stream per call.
  DQGPUMapToLaunchesOptions mapOptions;
  mapOptions.blockSize = options.blockSize;
  pm.addNestedPass<func::FuncOp>(createDQGPUMapToLaunches(mapOptions));
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createDQGPUMergeKernelModules());
  // After outlining: the canonicalizer would hoist the constants out of
  // (non-isolated) gpu.launch bodies.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createDQGPUDeviceBuffers());
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  if (options.emitCInterface)
    pm.addNestedPass<func::FuncOp>(LLVM::createLLVMRequestCWrappersPass());

  // Kernels to NVVM and a gpu.binary; host code to the LLVM dialect.
  gpu::GPUToNVVMPipelineOptions nvvmOptions;
  nvvmOptions.cubinChip = options.chip;
  nvvmOptions.cubinFeatures = options.features;
  nvvmOptions.cubinFormat = options.format;
  nvvmOptions.optLevel = options.optLevel;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvmOptions);
  pm.addPass(createUBToLLVMConversionPass());
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
