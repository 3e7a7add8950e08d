//===- MergeKernelModules.cpp - dq-gpu-merge-kernel-modules ---------------===//
//
// A training step has hundreds of kernels; one gpu.module per kernel would
// mean hundreds of binaries to load (and JIT-compile from PTX) when a model
// is opened. Kernels are moved into one module instead.
//
//===----------------------------------------------------------------------===//

#include "dq/GPU/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQGPUMERGEKERNELMODULES
#include "dq/GPU/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {
struct MergeKernelModulesPass
    : public mlir::dq::impl::DQGPUMergeKernelModulesBase<
          MergeKernelModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernelModules(
        module.getOps<gpu::GPUModuleOp>());
    if (kernelModules.empty())
      return;
    constexpr StringLiteral mergedName = "dq_kernels";
    if (module.lookupSymbol(mergedName)) {
      // On the location only: the module as a note would be the whole input.
      mlir::emitError(module.getLoc(),
                      "dq-gpu-merge-kernel-modules: symbol '")
          << mergedName << "' already exists";
      return signalPassFailure();
    }
    OpBuilder b(kernelModules.front());
    auto merged = gpu::GPUModuleOp::create(b, kernelModules.front().getLoc(),
                                           mergedName);
    SymbolTable mergedSymbols(merged);

    // (old module, old kernel) -> new kernel name.
    DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp kernelModule : kernelModules) {
      StringAttr moduleName = kernelModule.getSymNameAttr();
      for (Operation &op :
           llvm::make_early_inc_range(kernelModule.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (!symbol) {
          op.emitError("dq-gpu-merge-kernel-modules: unexpected op in an "
                       "outlined kernel module");
          return signalPassFailure();
        }
        StringAttr oldName = symbol.getNameAttr();
        // Outlined modules hold one kernel named like the function it came
        // from; the module's name is the unique one.
        op.remove();
        symbol.setName(moduleName);
        mergedSymbols.insert(&op);
        renamed[{moduleName, oldName}] = symbol.getNameAttr();
      }
      kernelModule.erase();
    }

    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      SymbolRefAttr kernel = launch.getKernel();
      auto it = renamed.find(
          {kernel.getRootReference(), kernel.getLeafReference()});
      if (it == renamed.end()) {
        launch.emitError("dq-gpu-merge-kernel-modules: launch of an unknown "
                         "kernel ")
            << kernel;
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(SymbolRefAttr::get(
          merged.getSymNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
