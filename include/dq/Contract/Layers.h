//===- Layers.h - the layer ops dq knows and their names --------*- C++ -*-===//
//
// One table of the layer ops (TOSA and linalg convolutions and matmuls:
// which operand is the input, the weight, the bias, and their channel
// axes), used by --dq-quantize to find what it quantizes and by the
// training-graph builder to find what it trains; and the one function
// that names a layer, from which every state name derives.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_CONTRACT_LAYERS_H
#define DQ_CONTRACT_LAYERS_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace mlir::dq {

enum class LayerKind { Conv, DepthwiseConv, MatMul };

/// Where a layer op keeps its operands. Filled from the one table of layer
/// ops (Layers.cpp).
struct LayerOpInfo {
  LayerKind kind = LayerKind::Conv;
  unsigned inputOperand = 0;
  unsigned weightOperand = 1;
  /// The bias operand (TOSA convolutions), if the op has one.
  std::optional<unsigned> biasOperand;
  int64_t weightChannelAxis = 0; // output-channel dimension of the weight
  int64_t inputChannelAxis = 0;  // channel dimension of the input
  /// The weight's kernel height and width dimensions (convolutions).
  std::optional<std::pair<int64_t, int64_t>> kernelDims;
};

/// The table's entry for `op`, std::nullopt if `op` is not a layer op.
std::optional<LayerOpInfo> layerOpInfo(Operation *op);

/// Where an op other than a layer op may hold biases: the operands that
/// are biases when they are f32 constants, and the op whose name prefixes
/// theirs (`<name>.bias`).
struct BiasSite {
  Operation *namedBy = nullptr;
  llvm::SmallVector<unsigned, 2> operands;
};

/// tosa.add (either operand, named after the add); in linalg form, the
/// elementwise add tosa-to-linalg makes of it (named after it) and the
/// broadcast of a convolution's or matmul's bias into its init
/// (tosa-to-linalg-named; named after the layer op).
std::optional<BiasSite> biasSiteOf(Operation *op);

/// A linalg.generic over parallel loops whose payload adds its two inputs
/// (tosa.add in linalg form).
bool isElementwiseAdd(Operation *op);

/// True for the ops whose operands become training state and whose name
/// therefore prefixes state names: layer ops, bias sites named after
/// themselves and dq.batch_norm.
bool ownsTrainingState(Operation *op);

/// A layer's name: its dq.name attribute, else the first NameLoc in its
/// location (looking through fused and call-site locations), else "".
std::string layerNameOf(Operation *op);

/// Sets dq.name on `op` from its location if it has a name there and no
/// dq.name yet, so that the name survives printing without locations.
void keepLayerName(Operation *op);

/// Calls keepLayerName on every op under `root` that owns training state.
void keepLayerNames(Operation *root);

/// Names layers for state names: layerNameOf, or for an unnamed layer its
/// kind and rank among the unnamed ops of that kind (`conv2d_0`), the same
/// name every time it is asked for the same op.
class LayerNamer {
public:
  std::string nameOf(Operation *op);

private:
  llvm::DenseMap<Operation *, std::string> names;
  llvm::StringMap<unsigned> unnamedOfKind;
};

} // namespace mlir::dq

#endif // DQ_CONTRACT_LAYERS_H
