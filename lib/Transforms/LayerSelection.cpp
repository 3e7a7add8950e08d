//===- LayerSelection.cpp - which layers dq-quantize touches --------------===//

#include "dq/Transforms/LayerSelection.h"

#include "dialects/dq/DQOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Matchers.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mlir::dq;

static int64_t dim(Value v, int64_t d) {
  return cast<ShapedType>(v.getType()).getDimSize(d);
}

std::optional<Layer> mlir::dq::matchLayer(Operation *op, bool &failed) {
  std::optional<LayerOpInfo> info = layerOpInfo(op);
  if (!info)
    return std::nullopt;
  auto notSupported = [&](const Twine &why) -> std::optional<Layer> {
    op->emitError() << "dq-quantize cannot quantize this layer: " << why
                    << " (keep it in full precision with keep-fp)";
    failed = true;
    return std::nullopt;
  };
  if (auto conv = dyn_cast<tosa::DepthwiseConv2DOp>(op))
    if (int64_t multiplier = dim(conv.getWeight(), 3); multiplier != 1)
      return notSupported("depthwise channel multiplier " + Twine(multiplier) +
                          " (only 1 is supported)");
  if (auto matmul = dyn_cast<linalg::MatmulOp>(op);
      matmul && matmul.hasUserDefinedMaps())
    return notSupported("linalg.matmul with explicit indexing_maps");
  if (auto matmul = dyn_cast<linalg::BatchMatmulOp>(op);
      matmul && matmul.hasUserDefinedMaps())
    return notSupported("linalg.batch_matmul with explicit indexing_maps");
  Layer layer;
  layer.op = op;
  layer.name = layerNameOf(op);
  layer.kind = info->kind;
  layer.inputOperand = info->inputOperand;
  layer.weightOperand = info->weightOperand;
  layer.weightChannelAxis = info->weightChannelAxis;
  layer.inputChannelAxis = info->inputChannelAxis;
  if (info->kind == LayerKind::Conv && info->kernelDims) {
    Value w = layer.weight();
    layer.isPointwise = dim(w, info->kernelDims->first) == 1 &&
                        dim(w, info->kernelDims->second) == 1;
  }
  return layer;
}

int64_t mlir::dq::fanOutOf(const Layer &layer) {
  auto type = cast<ShapedType>(layer.weight().getType());
  int64_t outChannels = type.getDimSize(layer.weightChannelAxis);
  if (layer.kind == LayerKind::MatMul)
    return outChannels;
  // Kernel positions: every dimension that is neither the output channel nor
  // an input channel. For convolutions that is every dim but the channel
  // dims; depthwise weights have only one channel dim.
  int64_t positions = 1;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (d == layer.weightChannelAxis)
      continue;
    bool isInputChannel = layer.kind == LayerKind::Conv &&
                          ((layer.weightChannelAxis == 0 && d == 3) ||
                           (layer.weightChannelAxis == 3 && d == 2));
    bool isDepthwiseMultiplier =
        layer.kind == LayerKind::DepthwiseConv && d == 3;
    if (!isInputChannel && !isDepthwiseMultiplier)
      positions *= type.getDimSize(d);
  }
  return outChannels * positions;
}

/// Calls `fn` on every file:line:col location nested in `loc`.
static void forEachFileLoc(Location loc,
                           function_ref<void(FileLineColLoc)> fn) {
  loc->walk([&](Location inner) {
    if (auto file = dyn_cast<FileLineColLoc>(inner))
      fn(file);
    return WalkResult::advance();
  });
}

bool mlir::dq::matchesOverride(Operation *op, StringRef entry) {
  if (!entry.empty() && layerNameOf(op) == entry)
    return true;
  auto [file, line] = entry.rsplit(':');
  unsigned lineNumber;
  if (file.empty() || line.getAsInteger(10, lineNumber))
    return false;
  bool matched = false;
  forEachFileLoc(op->getLoc(), [&](FileLineColLoc loc) {
    StringRef name = loc.getFilename().getValue();
    if (loc.getLine() == lineNumber &&
        (name == file || llvm::sys::path::filename(name) == file))
      matched = true;
  });
  return matched;
}

/// Batch norm and bias ops between a conv and a residual add: elementwise
/// ops with one computed operand and constants otherwise.
static bool isPerChannelAffine(Operation *op) {
  if (isa<BatchNormOp>(op))
    return true;
  if (!isa<tosa::AddOp, tosa::SubOp, tosa::MulOp, linalg::AddOp, linalg::SubOp,
           linalg::MulOp, linalg::GenericOp>(op))
    return false;
  int computed = 0;
  for (Value operand : op->getOperands()) {
    if (matchPattern(operand, m_Constant()))
      continue;
    if (isa_and_nonnull<tosa::ConstShapeOp>(operand.getDefiningOp()))
      continue;
    // linalg destination (tensor.empty) does not count as data.
    if (operand.getDefiningOp() &&
        operand.getDefiningOp()->getName().getStringRef() == "tensor.empty")
      continue;
    ++computed;
  }
  return computed == 1;
}

static bool isResidualAdd(Operation *op) {
  if (!isa<tosa::AddOp, linalg::AddOp>(op) && !isElementwiseAdd(op))
    return false;
  int computed = 0;
  for (Value operand : op->getOperands())
    if (!matchPattern(operand, m_Constant()) &&
        !(operand.getDefiningOp() &&
          operand.getDefiningOp()->getName().getStringRef() == "tensor.empty"))
      ++computed;
  return computed >= 2;
}

/// A projection shortcut reads the block's input, which the main branch
/// reads too (possibly through a slice dropping the rows a strided 1x1
/// convolution skips). The last 1x1 convolution of a main branch (the
/// linear bottleneck of MobileNetV2) reads a value nothing else uses.
static bool readsSharedInput(Operation *conv) {
  Value input = conv->getOperand(0);
  while (input.hasOneUse()) {
    Operation *producer = input.getDefiningOp();
    if (auto slice = dyn_cast_or_null<tosa::SliceOp>(producer))
      input = slice.getInput1();
    else if (auto slice = dyn_cast_or_null<tensor::ExtractSliceOp>(producer))
      input = slice.getSource(); // linalg form
    else if (auto pad = dyn_cast_or_null<tensor::PadOp>(producer))
      input = pad.getSource();
    else
      return false;
  }
  return true;
}

bool mlir::dq::isProjectionShortcut(const Layer &layer) {
  if (layer.kind != LayerKind::Conv || !layer.isPointwise)
    return false;
  if (!readsSharedInput(layer.op))
    return false;
  Value current = layer.op->getResult(0);
  // Follow single users through at most a few batch-norm pieces.
  for (int depth = 0; depth < 8; ++depth) {
    if (!current.hasOneUse())
      return false;
    Operation *user = *current.getUsers().begin();
    if (isResidualAdd(user))
      return true;
    if (!isPerChannelAffine(user) || user->getNumResults() != 1)
      return false;
    current = user->getResult(0);
  }
  return false;
}
