//===- Layers.cpp - the layer ops dq knows and their names ----------------===//

#include "dq/Contract/Layers.h"

#include "dialects/dq/DQOps.h"
#include "dq/Contract/Roles.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::dq;

namespace contract = ::dq::contract;

std::optional<LayerOpInfo> mlir::dq::layerOpInfo(Operation *op) {
  auto info = [](LayerKind kind, int64_t weightAxis, int64_t inputAxis,
                 std::optional<unsigned> bias,
                 std::optional<std::pair<int64_t, int64_t>> kernel) {
    LayerOpInfo layer;
    layer.kind = kind;
    layer.inputOperand = 0;
    layer.weightOperand = 1;
    layer.biasOperand = bias;
    layer.weightChannelAxis = weightAxis;
    layer.inputChannelAxis = inputAxis;
    layer.kernelDims = kernel;
    return layer;
  };
  using K = LayerKind;
  using Info = std::optional<LayerOpInfo>;
  return llvm::TypeSwitch<Operation *, Info>(op)
      // weight [O, KH, KW, I], input NHWC
      .Case([&](tosa::Conv2DOp) { return info(K::Conv, 0, 3, 2, {{1, 2}}); })
      // weight [KH, KW, C, M]
      .Case([&](tosa::DepthwiseConv2DOp) {
        return info(K::DepthwiseConv, 2, 3, 2, std::nullopt);
      })
      // a [N, H, C] x b [N, C, W]
      .Case([&](tosa::MatMulOp) {
        return info(K::MatMul, 2, 2, std::nullopt, std::nullopt);
      })
      .Case([&](linalg::Conv2DNhwcFhwcOp) {
        return info(K::Conv, 0, 3, std::nullopt, {{1, 2}});
      })
      .Case([&](linalg::Conv2DNhwcHwcfOp) {
        return info(K::Conv, 3, 3, std::nullopt, {{0, 1}});
      })
      .Case([&](linalg::DepthwiseConv2DNhwcHwcOp) {
        return info(K::DepthwiseConv, 2, 3, std::nullopt, std::nullopt);
      })
      .Case([&](linalg::MatmulOp) {
        return info(K::MatMul, 1, 1, std::nullopt, std::nullopt);
      })
      .Case([&](linalg::BatchMatmulOp) {
        return info(K::MatMul, 2, 2, std::nullopt, std::nullopt);
      })
      .Default([](Operation *) -> Info { return std::nullopt; });
}

/// A generic over parallel loops only, with one result.
static linalg::GenericOp parallelGeneric(Operation *op) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || generic->getNumResults() != 1 ||
      generic.getNumLoops() != generic.getNumParallelLoops())
    return {};
  return generic;
}

bool mlir::dq::isElementwiseAdd(Operation *op) {
  linalg::GenericOp generic = parallelGeneric(op);
  if (!generic || generic.getNumDpsInputs() != 2)
    return false;
  Block *body = generic.getBlock();
  if (!llvm::hasSingleElement(body->without_terminator()))
    return false;
  auto add = dyn_cast<arith::AddFOp>(body->front());
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  if (!add || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != add.getResult())
    return false;
  Value in0 = body->getArgument(0), in1 = body->getArgument(1);
  return (add.getLhs() == in0 && add.getRhs() == in1) ||
         (add.getLhs() == in1 && add.getRhs() == in0);
}

/// The layer op whose init `generic` broadcasts its only input into (the
/// payload yields the input unchanged).
static Operation *broadcastIntoLayerInit(Operation *op) {
  linalg::GenericOp generic = parallelGeneric(op);
  if (!generic || generic.getNumDpsInputs() != 1)
    return nullptr;
  Block *body = generic.getBlock();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  if (!body->without_terminator().empty() || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != body->getArgument(0))
    return nullptr;
  for (OpOperand &use : generic->getResult(0).getUses()) {
    Operation *user = use.getOwner();
    auto dps = dyn_cast<DestinationStyleOpInterface>(user);
    if (dps && dps.isDpsInit(&use) && layerOpInfo(user))
      return user;
  }
  return nullptr;
}

std::optional<BiasSite> mlir::dq::biasSiteOf(Operation *op) {
  if (isa<tosa::AddOp>(op) || isElementwiseAdd(op))
    return BiasSite{op, {0, 1}};
  if (Operation *layer = broadcastIntoLayerInit(op))
    return BiasSite{layer, {0}};
  return std::nullopt;
}

bool mlir::dq::ownsTrainingState(Operation *op) {
  if (layerOpInfo(op) || isa<BatchNormOp>(op))
    return true;
  std::optional<BiasSite> site = biasSiteOf(op);
  return site && site->namedBy == op;
}

static std::optional<std::string> firstName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location inner : fused.getLocations())
      if (auto found = firstName(inner))
        return found;
  }
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    return firstName(callSite.getCallee());
  return std::nullopt;
}

std::string mlir::dq::layerNameOf(Operation *op) {
  if (auto attr = op->getAttrOfType<StringAttr>(contract::kLayerNameAttr))
    return attr.str();
  if (auto name = firstName(op->getLoc()))
    return *name;
  return "";
}

void mlir::dq::keepLayerName(Operation *op) {
  if (op->hasAttr(contract::kLayerNameAttr))
    return;
  if (std::optional<std::string> name = firstName(op->getLoc());
      name && !name->empty())
    op->setAttr(contract::kLayerNameAttr,
                StringAttr::get(op->getContext(), *name));
}

void mlir::dq::keepLayerNames(Operation *root) {
  root->walk([](Operation *op) {
    if (ownsTrainingState(op))
      keepLayerName(op);
  });
}

std::string LayerNamer::nameOf(Operation *op) {
  auto it = names.find(op);
  if (it != names.end())
    return it->second;
  std::string name = layerNameOf(op);
  if (name.empty()) {
    std::string kind = op->getName().stripDialect().str();
    name = kind + "_" + std::to_string(unnamedOfKind[kind]++);
  }
  names[op] = name;
  return name;
}
