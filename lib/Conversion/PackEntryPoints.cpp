//===- PackEntryPoints.cpp - dq-pack-entry-points -------------------------===//
//
// Compiled models take dozens of state tensors; a runtime cannot call a C
// function with a model-dependent parameter list without generating code.
// This pass adds, for each C-interface function, a wrapper with one fixed
// signature, void dq_<name>(void **args), that unpacks the argument array.
//
//===----------------------------------------------------------------------===//

#include "dq/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQPACKENTRYPOINTS
#include "dq/Conversion/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {
struct PackEntryPointsPass
    : public mlir::dq::impl::DQPackEntryPointsBase<PackEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    constexpr StringLiteral prefix = "_mlir_ciface_";
    SmallVector<LLVM::LLVMFuncOp> interfaces;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>())
      if (func.getName().starts_with(prefix) && !func.isExternal())
        interfaces.push_back(func);

    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    OpBuilder b(ctx);
    for (LLVM::LLVMFuncOp callee : interfaces) {
      std::string name =
          ("dq_" + callee.getName().drop_front(prefix.size())).str();
      if (module.lookupSymbol(name)) {
        // Not callee.emitError(): the function as a note would be printed
        // whole.
        mlir::emitError(callee.getLoc())
            << "dq-pack-entry-points: '" << name << "' already exists (the "
            << "wrapper of @" << callee.getName() << " would replace it)";
        return signalPassFailure();
      }
      Location loc = callee.getLoc();
      b.setInsertionPointAfter(callee);
      auto wrapper = LLVM::LLVMFuncOp::create(
          b, loc, name,
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptrType}));
      Block *entry = wrapper.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      Value argv = entry->getArgument(0);
      auto slot = [&](int64_t i) -> Value {
        Value address = LLVM::GEPOp::create(
            b, loc, ptrType, ptrType, argv,
            ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
        return LLVM::LoadOp::create(b, loc, ptrType, address);
      };
      LLVM::LLVMFunctionType type = callee.getFunctionType();
      SmallVector<Value> args;
      for (auto [i, paramType] : llvm::enumerate(type.getParams())) {
        Value pointer = slot(i);
        args.push_back(
            isa<LLVM::LLVMPointerType>(paramType)
                ? pointer
                : LLVM::LoadOp::create(b, loc, paramType, pointer).getResult());
      }
      auto call = LLVM::CallOp::create(b, loc, callee, args);
      if (!isa<LLVM::LLVMVoidType>(type.getReturnType()))
        LLVM::StoreOp::create(b, loc, call.getResult(),
                              slot(type.getNumParams()));
      LLVM::ReturnOp::create(b, loc, ValueRange{});
    }
  }
};
} // namespace
