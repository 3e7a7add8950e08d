//===- LayerSelection.h - which layers dq-quantize touches ------*- C++ -*-===//
//
// Describes the quantizable layers (the layer ops of dq/Contract/Layers.h
// in a form dq can quantize) and decides which ones keep full precision.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_TRANSFORMS_LAYERSELECTION_H
#define DQ_TRANSFORMS_LAYERSELECTION_H

#include "dq/Contract/Layers.h"

#include "mlir/IR/Operation.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir::dq {

/// A quantizable layer and the facts dq-quantize needs about it.
struct Layer {
  Operation *op = nullptr;
  LayerKind kind = LayerKind::Conv;
  unsigned inputOperand = 0;     // activation operand index
  unsigned weightOperand = 1;    // weight operand index
  int64_t weightChannelAxis = 0; // output-channel dimension of the weight
  int64_t inputChannelAxis = 0;  // channel dimension of the input
  bool isPointwise = false;      // 1x1 convolution
  std::string name;              // layerNameOf (dq.name or the location)

  Value input() const { return op->getOperand(inputOperand); }
  Value weight() const { return op->getOperand(weightOperand); }
};

/// Returns the layer description of `op` (from layerOpInfo, the one table
/// of layer ops), std::nullopt if `op` is not a layer kind dq knows. Emits an error and sets `failed` when `op` is a
/// known kind in a form dq cannot quantize.
std::optional<Layer> matchLayer(Operation *op, bool &failed);

/// The PyTorch fan-out (output channels x kernel positions) of a layer's
/// weight, used by the LQ-Nets initialization.
int64_t fanOutOf(const Layer &layer);

/// True if `entry` (a layer name or "file:line") designates `op`.
bool matchesOverride(Operation *op, llvm::StringRef entry);

/// True if the 1x1 convolution's result reaches a residual add (an add of
/// two computed values) through per-channel affine ops (batch norm).
bool isProjectionShortcut(const Layer &layer);

} // namespace mlir::dq

#endif // DQ_TRANSFORMS_LAYERSELECTION_H
