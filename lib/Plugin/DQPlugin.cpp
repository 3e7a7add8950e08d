//===- DQPlugin.cpp - dq as a plugin of upstream mlir-opt -----------------===//
//
// One library with both of mlir-opt's plugin entry points:
//
//   mlir-opt --load-dialect-plugin=DQPlugin.so --load-pass-plugin=DQPlugin.so
//     --pass-pipeline='builtin.module(dq-quantize, dq-build-training-graph)'
//
// It links the shared libMLIR that mlir-opt runs on, so the dialect, pass
// and interface registries it fills are mlir-opt's own.
//
//===----------------------------------------------------------------------===//

#include "dq/Registration.h"

#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "DQ", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            mlir::dq::registerDQDialects(*registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "DQPasses", LLVM_VERSION_STRING,
          []() { mlir::dq::registerDQPasses(); }};
}
