//===- Differentiate.cpp - dq-differentiate -------------------------------===//
//
// Adds the vector-Jacobian product of a function, built by the same
// reverse-mode engine as the training graph. It is how every gradient rule
// is checked against finite differences.
//
//===----------------------------------------------------------------------===//

#include "dq/Training/Passes.h"

#include "dq/Support/Checks.h"
#include "dq/Training/Autodiff.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::dq {
#define GEN_PASS_DEF_DQDIFFERENTIATE
#include "dq/Training/Passes.h.inc"
} // namespace mlir::dq

using namespace mlir;
using namespace mlir::dq;

namespace {
struct DifferentiatePass
    : public mlir::dq::impl::DQDifferentiateBase<DifferentiatePass> {
  using DQDifferentiateBase::DQDifferentiateBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The named function, else the only public one.
    FailureOr<FunctionOpInterface> selected =
        selectFunction(module, funcName, "dq-differentiate");
    if (failed(selected))
      return signalPassFailure();
    auto func = dyn_cast<func::FuncOp>(selected->getOperation());
    if (!func) {
      mlir::emitError(module.getLoc())
          << "dq-differentiate: @" << selected->getName()
          << " is not a func.func (set func=<name>)";
      return signalPassFailure();
    }
    if (func.isExternal() || func.getNumResults() != 1 ||
        !isa<RankedTensorType>(func.getResultTypes()[0]) ||
        !func.getBody().hasOneBlock()) {
      mlir::emitError(func.getLoc())
          << "dq-differentiate needs a function with one block and one "
             "ranked tensor result";
      return signalPassFailure();
    }
    if (failed(checkNoRecursion(func, "dq-differentiate")))
      return signalPassFailure();
    auto vjp = func.clone();
    std::string name = (func.getName() + "_vjp").str();
    vjp.setSymName(name);
    SymbolTable(module).insert(vjp);

    Block &body = vjp.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    Type resultType = func.getResultTypes()[0];
    Value dy = body.addArgument(resultType, func.getLoc());
    SmallVector<Value> inputs;
    for (BlockArgument arg : body.getArguments().drop_back())
      if (auto type = dyn_cast<RankedTensorType>(arg.getType());
          type && isa<FloatType>(type.getElementType()))
        inputs.push_back(arg);

    OpBuilder builder(ret);
    auto grads =
        buildReverseMode(builder, body, ret.getOperands(), {dy}, inputs);
    if (failed(grads))
      return signalPassFailure();
    func::ReturnOp::create(builder, ret.getLoc(), *grads);
    ret.erase();
    SmallVector<Type> argTypes(body.getArgumentTypes());
    SmallVector<Type> resultTypes;
    for (Value g : *grads)
      resultTypes.push_back(g.getType());
    vjp.setFunctionType(builder.getFunctionType(argTypes, resultTypes));
    // Argument attributes of the clone no longer line up once dy is added.
    vjp.removeArgAttrsAttr();
  }
};
} // namespace
