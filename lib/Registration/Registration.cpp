//===- Registration.cpp - register dq with an MLIR tool -------------------===//

#include "dq/Registration.h"

#include "dialects/dq/DQDialect.h"
#include "dq/Conversion/DQToLinalg/AllReduceBufferization.h"
#include "dq/Conversion/Passes.h"
#include "dq/GPU/Passes.h"
#include "dq/Pipelines/GPUPipeline.h"
#include "dq/Pipelines/Pipelines.h"
#include "dq/Training/GradientModels.h"
#include "dq/Training/Passes.h"
#include "dq/Transforms/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::dq::registerDQDialects(DialectRegistry &registry) {
  registry.insert<DQDialect>();
  registerGradientExternalModels(registry);
  registerAllReduceBufferizationModel(registry);
  // gpu-module-to-binary (dq-lower-to-nvvm) serializes kernels through the
  // NVVM target and the LLVM IR translations, which a tool's usual
  // registration need not include.
  mlir::registerAllToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

void mlir::dq::registerDQPasses() {
  // A pipeline registered twice is a fatal error in assertion builds of
  // MLIR, and a tool may reach this from more than one place (a plugin
  // loaded both as a dialect and a pass plugin, say).
  static const bool registered = [] {
    registerDQTransformsPasses();
    registerDQConversionPasses();
    registerDQTrainingPasses();
    registerDQGPUPasses();
    registerPipelines();
    registerGPUPipelines();
    return true;
  }();
  (void)registered;
}

void mlir::dq::registerDQ(DialectRegistry &registry) {
  registerDQDialects(registry);
  registerDQPasses();
}

void mlir::dq::registerAllDialects(DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registerDQDialects(registry);
}

void mlir::dq::registerAllPasses() {
  mlir::registerAllPasses();
  registerDQPasses();
}
