//===- AllReduceBufferization.cpp - dq.all_reduce on buffers --------------===//
//
// dq.all_reduce is the one dq op that reaches bufferization: what it does
// (talk to the other processes) is not something a linalg op can express,
// so it becomes a copy into a fresh buffer and a call of the model
// library's collective on it, in place (runtime/lib/ModelCollectives.c).
//
//===----------------------------------------------------------------------===//

#include "dq/Conversion/DQToLinalg/AllReduceBufferization.h"

#include "dialects/dq/DQOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::bufferization;

std::string mlir::dq::allReduceSymbol(Reduction reduction, Type element) {
  std::string type = element.isF64()                 ? "f64"
                     : element.isInteger(32)         ? "i32"
                                                     : "f32";
  return "dq_model_all_reduce_" + stringifyReduction(reduction).str() + "_" +
         type;
}

namespace {

struct AllReduceBufferization
    : BufferizableOpInterface::ExternalModel<AllReduceBufferization,
                                             dq::AllReduceOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }
  AliasingValueList getAliasingValues(Operation *, OpOperand &,
                                      const AnalysisState &) const {
    return {};
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto reduce = cast<dq::AllReduceOp>(op);
    Location loc = op->getLoc();
    FailureOr<Value> input =
        getBuffer(rewriter, reduce.getInput(), options, state);
    if (failed(input))
      return failure();
    auto type = cast<RankedTensorType>(reduce.getType());
    if (!type.hasStaticShape())
      return op->emitError("dq.all_reduce needs a static shape, not ")
             << type;
    // A fresh contiguous buffer, reduced in place: the input's buffer may
    // be strided or still read by others.
    auto bufferType = MemRefType::get(type.getShape(), type.getElementType());
    FailureOr<Value> buffer =
        options.createAlloc(rewriter, loc, bufferType, ValueRange());
    if (failed(buffer) ||
        failed(options.createMemCpy(rewriter, loc, *input, *buffer)))
      return failure();
    // The callee sees it as one dimension of N elements.
    int64_t count = type.getNumElements();
    auto flatType = MemRefType::get({count}, type.getElementType());
    Value flat = memref::ReinterpretCastOp::create(
        rewriter, loc, flatType, *buffer, /*offset=*/0,
        ArrayRef<int64_t>{count}, ArrayRef<int64_t>{1});
    auto dynamicType =
        MemRefType::get({ShapedType::kDynamic}, type.getElementType());
    Value view = memref::CastOp::create(rewriter, loc, dynamicType, flat);
    std::string callee =
        dq::allReduceSymbol(reduce.getReduction(), type.getElementType());
    auto module = op->getParentOfType<ModuleOp>();
    auto calleeType = rewriter.getFunctionType({dynamicType}, {});
    if (!module.lookupSymbol<func::FuncOp>(callee)) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      auto decl = func::FuncOp::create(rewriter, loc, callee, calleeType);
      decl.setPrivate();
      decl->setAttr("llvm.emit_c_interface", rewriter.getUnitAttr());
    }
    func::CallOp::create(rewriter, loc, callee, TypeRange(), ValueRange{view});
    replaceOpWithBufferizedValues(rewriter, op, *buffer);
    return success();
  }
};

} // namespace

void mlir::dq::registerAllReduceBufferizationModel(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, DQDialect *) {
    AllReduceOp::attachInterface<AllReduceBufferization>(*ctx);
  });
}
