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
#include "llvm/Support/Regex.h"

using namespace mlir;

std::optional<std::string>
mlir::dq::checkLowerToNVVMOptions(const LowerToNVVMOptions &options) {
  std::string message;
  llvm::raw_string_ostream os(message);
  auto option = [&](StringRef name) -> llvm::raw_ostream & {
    return os << "dq-lower-to-nvvm: option " << name << " ";
  };
  auto range = [&](StringRef name, int64_t value, int64_t lo, int64_t hi) {
    if (value >= lo && value <= hi)
      return false;
    option(name) << "must be in [" << lo << ", " << hi << "], got " << value;
    return true;
  };
  // The NVVM target attribute is not verified upstream: an empty or
  // malformed chip crashes the NVPTX backend later.
  if (!llvm::Regex("^sm_[0-9]{2,3}[af]?$").match(options.chip)) {
    option("chip") << "must be an NVIDIA architecture such as sm_80 or "
                      "sm_90a, got '"
                   << options.chip << "'";
    return message;
  }
  StringRef features = options.features;
  SmallVector<StringRef> entries;
  if (!features.empty())
    features.split(entries, ',');
  for (StringRef entry : entries)
    if (!llvm::Regex("^[+-]ptx[0-9]{2,3}$").match(entry)) {
      option("features") << "must be empty or PTX versions such as +ptx80 "
                            "(comma-separated), got '"
                         << options.features << "'";
      return message;
    }
  if (!llvm::is_contained({"isa", "bin", "fatbin"}, options.format)) {
    option("format") << "must be isa, bin or fatbin, got '" << options.format
                     << "'";
    return message;
  }
  // The limits dq-gpu-map-to-launches checks per function, here once.
  if (range("opt-level", options.optLevel, 0, 3) ||
      range("block-size", options.blockSize, 1, kMaxGPUBlockSize) ||
      range("shared-memory-bytes", options.sharedMemoryBytes, 0,
            kMaxGPUSharedMemoryBytes) ||
      range("split-blocks", options.splitBlocks, 1, kMaxGPUSplitBlocks))
    return message;
  return std::nullopt;
}

namespace {
/// Stands for the whole pipeline when its options are invalid: every run
/// fails with one error before any pass sees the IR.
struct InvalidOptionsPass
    : public PassWrapper<InvalidOptionsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(InvalidOptionsPass)
  explicit InvalidOptionsPass(std::string message)
      : message(std::move(message)) {}
  StringRef getArgument() const override {
    return "dq-lower-to-nvvm-invalid-options";
  }
  StringRef getDescription() const override {
    return "Fails: the options of dq-lower-to-nvvm are invalid";
  }
  void runOnOperation() override {
    // On the location only: the module as a note would be the whole input.
    mlir::emitError(getOperation().getLoc()) << message;
    signalPassFailure();
  }
  std::string message;
};
} // namespace

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
  // Bad options become one error and a failed run, not a crash in a later
  // pass nor a pass that reports an error and carries on.
  if (std::optional<std::string> error = checkLowerToNVVMOptions(options)) {
    pm.addPass(std::make_unique<InvalidOptionsPass>(std::move(*error)));
    return;
  }
  // dq and TOSA to linalg on tensors, elementwise producers fused into their
  // consumers (one kernel each instead of a buffer round trip).
  BitSerialLowering wholeBatch;
  wholeBatch.rows = false;
  addModelToLinalgPasses(pm, wholeBatch);
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
