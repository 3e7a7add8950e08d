//===- DQDialect.cpp - dq dialect registration ----------------------------===//

#include "dialects/dq/DQDialect.h"
#include "dialects/dq/DQOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::dq;

#include "dialects/dq/DQDialect.cpp.inc"
#include "dialects/dq/DQEnums.cpp.inc"

void DQDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/dq/DQOps.cpp.inc"
      >();
  registerAttributes();
}

Operation *DQDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  if (auto typed = dyn_cast<TypedAttr>(value))
    if (arith::ConstantOp::isBuildableWith(typed, type))
      return arith::ConstantOp::create(builder, loc, type, typed);
  return nullptr;
}
