//===- Registration.cpp - register everything dq-opt provides -------------===//

#include "dq/Registration.h"

#include "dialects/dq/DQDialect.h"
#include "dq/Conversion/Passes.h"
#include "dq/GPU/Passes.h"
#include "dq/Pipelines/GPUPipeline.h"
#include "dq/Pipelines/Pipelines.h"
#include "dq/Training/GradientOpInterface.h"
#include "dq/Training/Passes.h"
#include "dq/Transforms/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::dq::registerAllDialects(DialectRegistry &registry) {
  registry.insert<DQDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registerGradientExternalModels(registry);
  // gpu-module-to-binary serializes kernels through the NVVM target.
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

void mlir::dq::registerAllPasses() {
  mlir::registerAllPasses();
  registerDQTransformsPasses();
  registerDQConversionPasses();
  registerDQTrainingPasses();
  registerPipelines();
  registerDQGPUPasses();
  registerGPUPipelines();
}
