//===- DropUnusedArguments.cpp - dq-drop-unused-arguments -----------------===//
//
// Memref descriptors expanded into arguments make the calls between a
// split function's pieces thousands of arguments long, most of them sizes
// and strides of static shapes that no piece reads. This pass removes the
// unread ones from local functions and their direct calls.
//
//===----------------------------------------------------------------------===//

#include "dq/Conversion/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQDROPUNUSEDARGUMENTS
#include "dq/Conversion/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;

namespace {

struct DropUnusedArgumentsPass
    : public mlir::dq::impl::DQDropUnusedArgumentsBase<
          DropUnusedArgumentsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Every use of each function's symbol: only direct calls qualify.
    DenseMap<Operation *, SmallVector<LLVM::CallOp>> calls;
    llvm::SmallPtrSet<Operation *, 16> disqualified;
    SymbolTable symbols(module);
    std::optional<SymbolTable::UseRange> uses =
        SymbolTable::getSymbolUses(&module.getBodyRegion());
    if (!uses)
      return; // an unknown op may hold symbols: leave every function alone
    for (const SymbolTable::SymbolUse &use : *uses) {
      Operation *target =
          symbols.lookup(use.getSymbolRef().getRootReference().getValue());
      if (!target || !isa<LLVM::LLVMFuncOp>(target))
        continue;
      auto call = dyn_cast<LLVM::CallOp>(use.getUser());
      if (call && call.getCalleeAttr() == use.getSymbolRef() &&
          !call.getArgAttrs() && !call.getVarCalleeType() &&
          call.getOpBundleOperands().empty())
        calls[target].push_back(call);
      else
        disqualified.insert(target);
    }
    for (auto func : module.getOps<LLVM::LLVMFuncOp>()) {
      if (func.isExternal() || func.isVarArg() || disqualified.contains(func))
        continue;
      LLVM::Linkage linkage = func.getLinkage();
      if (linkage != LLVM::Linkage::Internal &&
          linkage != LLVM::Linkage::Private)
        continue;
      llvm::BitVector unused(func.getNumArguments());
      for (BlockArgument argument : func.getArguments())
        if (argument.use_empty())
          unused.set(argument.getArgNumber());
      if (unused.none())
        continue;
      for (LLVM::CallOp call : calls.lookup(func)) {
        MutableOperandRange operands = call.getCalleeOperandsMutable();
        for (int index = unused.find_last(); index >= 0;
             index = unused.find_prev(index))
          operands.erase(index);
      }
      // By hand: FunctionOpInterface::eraseArguments has no LLVM function
      // type to build.
      LLVM::LLVMFunctionType type = func.getFunctionType();
      SmallVector<Type> inputs;
      for (auto [index, input] : llvm::enumerate(type.getParams()))
        if (!unused.test(index))
          inputs.push_back(input);
      if (ArrayAttr argAttrs = func.getArgAttrsAttr()) {
        SmallVector<Attribute> kept;
        for (auto [index, attrs] : llvm::enumerate(argAttrs))
          if (!unused.test(index))
            kept.push_back(attrs);
        func.setArgAttrsAttr(ArrayAttr::get(&getContext(), kept));
      }
      func.setFunctionType(LLVM::LLVMFunctionType::get(
          type.getReturnType(), inputs, type.isVarArg()));
      func.getBody().front().eraseArguments(unused);
    }
  }
};

} // namespace
