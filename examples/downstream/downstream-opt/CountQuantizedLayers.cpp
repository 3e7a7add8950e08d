//===- CountQuantizedLayers.cpp - a pass on dq's dialect ------------------===//
//
// Written against dq's installed headers (the dialect's generated op
// classes), to show that a downstream pass can match dq ops like any
// upstream ones.
//
//===----------------------------------------------------------------------===//

#include "CountQuantizedLayers.h"

#include "dialects/dq/DQOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

namespace {

struct CountQuantizedLayersPass
    : mlir::PassWrapper<CountQuantizedLayersPass,
                        mlir::OperationPass<mlir::ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CountQuantizedLayersPass)

  llvm::StringRef getArgument() const final {
    return "downstream-count-quantized-layers";
  }
  llvm::StringRef getDescription() const final {
    return "Record the number of dq.decode_weights ops on the module";
  }

  void runOnOperation() final {
    int64_t layers = 0;
    getOperation().walk([&](mlir::dq::DecodeWeightsOp) { ++layers; });
    mlir::Builder builder(&getContext());
    getOperation()->setAttr("downstream.quantized_layers",
                            builder.getI64IntegerAttr(layers));
  }
};

} // namespace

void downstream::registerCountQuantizedLayersPass() {
  mlir::PassRegistration<CountQuantizedLayersPass>();
}
