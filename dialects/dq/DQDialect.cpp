//===- DQDialect.cpp - dq dialect registration ----------------------------===//

#include "dialects/dq/DQDialect.h"
#include "dialects/dq/DQOps.h"
#include "dq/Contract/Roles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"
#include <cmath>

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

//===----------------------------------------------------------------------===//
// Contract attributes
//===----------------------------------------------------------------------===//

namespace contract = ::dq::contract;

/// `@f argument 3 ('conv.weight.codes')`: where a contract attribute is.
static std::string describeSlot(Operation *op, bool isResult, unsigned index,
                                DictionaryAttr attrs) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (auto name =
          op->getAttrOfType<StringAttr>(SymbolTable::getSymbolAttrName()))
    os << "@" << name.getValue() << " ";
  os << (isResult ? "result " : "argument ") << index;
  if (attrs)
    if (auto state = attrs.getAs<StringAttr>(contract::kStateAttr))
      os << " ('" << state.getValue() << "')";
  return text;
}

/// Checks one dq.* attribute on an argument or result of a function.
static LogicalResult verifySlotAttribute(Operation *op, bool isResult,
                                         unsigned index,
                                         NamedAttribute attribute) {
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (!func)
    return success();
  StringRef name = attribute.getName().getValue();
  DictionaryAttr attrs = isResult ? func.getResultAttrDict(index)
                                  : func.getArgAttrDict(index);
  Type type = isResult ? func.getResultTypes()[index]
                       : func.getArgumentTypes()[index];
  // At the argument's own line where there is one; not op->emitError, whose
  // note would print the whole function.
  Location loc = func.getLoc();
  if (!isResult && !func.isExternal())
    loc = func.getArgument(index).getLoc();
  auto error = [&]() {
    return mlir::emitError(loc) << describeSlot(op, isResult, index, attrs)
                                << ": ";
  };
  if (name == contract::kStateAttr) {
    auto state = dyn_cast<StringAttr>(attribute.getValue());
    if (!state || state.getValue().empty())
      return error() << name << " must be a non-empty string naming the "
                     << "state tensor, got " << attribute.getValue();
    return success();
  }
  if (name == contract::kRoleAttr) {
    auto text = dyn_cast<StringAttr>(attribute.getValue());
    std::optional<contract::Role> role =
        text ? contract::roleFromName(text.getValue().str())
             : std::nullopt;
    if (!role) {
      InFlightDiagnostic diag = error()
                                << name << " " << attribute.getValue()
                                << " is not a role (one of ";
      llvm::interleaveComma(contract::kRoleNames, diag,
                            [&](std::string_view r) {
                              diag << StringRef(r.data(), r.size());
                            });
      return diag << ")";
    }
    if (!attrs.get(contract::kStateAttr))
      return error() << name << " without " << contract::kStateAttr
                     << " (a role belongs to a named state tensor)";
    // Tensors, or the memrefs bufferization makes of them; lowering to
    // LLVM leaves other types behind, which say nothing of the role.
    auto shaped = dyn_cast<ShapedType>(type);
    if (!shaped)
      return success();
    bool wantI8 = contract::elementTypeOf(*role) == contract::ElementType::I8;
    if (!shaped.hasStaticShape() ||
        (wantI8 ? !shaped.getElementType().isInteger(8)
                : !shaped.getElementType().isF32())) {
      std::string_view roleText = contract::roleName(*role);
      return error() << "role '" << StringRef(roleText.data(), roleText.size())
                     << "' needs a static tensor of " << (wantI8 ? "i8" : "f32")
                     << ", got " << type;
    }
    return success();
  }
  return success();
}

LogicalResult DQDialect::verifyRegionArgAttribute(Operation *op,
                                                  unsigned regionIndex,
                                                  unsigned argIndex,
                                                  NamedAttribute attribute) {
  return verifySlotAttribute(op, /*isResult=*/false, argIndex, attribute);
}

LogicalResult DQDialect::verifyRegionResultAttribute(Operation *op,
                                                     unsigned regionIndex,
                                                     unsigned resultIndex,
                                                     NamedAttribute attribute) {
  return verifySlotAttribute(op, /*isResult=*/true, resultIndex, attribute);
}

LogicalResult DQDialect::verifyOperationAttribute(Operation *op,
                                                  NamedAttribute attribute) {
  if (attribute.getName().getValue() == contract::kLayerNameAttr) {
    auto name = dyn_cast<StringAttr>(attribute.getValue());
    if (!name || name.getValue().empty())
      return op->emitOpError()
             << contract::kLayerNameAttr
             << " must be a non-empty string (the layer's name), got "
             << attribute.getValue();
  }
  if (attribute.getName().getValue() == contract::kLatentInitAttr) {
    auto decode = dyn_cast<DecodeWeightsOp>(op);
    if (!decode)
      return op->emitOpError()
             << contract::kLatentInitAttr
             << " belongs on a dq.decode_weights (the initial latent weights "
                "of its codes)";
    auto values = dyn_cast<DenseElementsAttr>(attribute.getValue());
    if (!values || values.getType() != decode.getType())
      return op->emitOpError()
             << contract::kLatentInitAttr
             << " must be dense f32 elements of the decoded type "
             << decode.getType();
    if (llvm::any_of(values.getValues<float>(),
                     [](float v) { return !std::isfinite(v); }))
      return op->emitOpError()
             << contract::kLatentInitAttr << " has a NaN or infinite value";
  }
  return success();
}
