//===- TorchGraph.h - a TorchScript graph as plain C++ data -----*- C++ -*-===//
//
// What the LibTorch reader (built with RTTI and exceptions) hands to the MLIR
// emitter (built without): the frozen, inlined `forward` graph of a
// TorchScript module as plain structs. No LibTorch or MLIR types cross this
// boundary, so the two halves can be compiled with different flags.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_IMPORT_TORCHGRAPH_H
#define DQ_IMPORT_TORCHGRAPH_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dq::import {

/// A float32 tensor constant (parameters, buffers), contiguous, row-major in
/// PyTorch's dimension order.
struct TensorData {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// A compile-time value of the graph: what a prim::Constant holds.
struct ConstantValue {
  enum class Kind {
    None,
    Bool,
    Int,
    Double,
    IntList,
    DoubleList,
    Tensor,
    String,
    Device,
    Other
  };
  Kind kind = Kind::Other;
  int64_t intValue = 0; // Bool and Int
  double doubleValue = 0;
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::string text; // String, Device; the type for Other
  std::shared_ptr<TensorData> tensor;
};

/// A value of the graph. `isConstant` values come from prim::Constant nodes
/// (which are not listed as nodes).
struct GraphValue {
  std::string debugName;
  /// TorchScript type, printed ("Tensor", "int", "int[]", ...).
  std::string type;
  bool isConstant = false;
  ConstantValue constant;
};

struct GraphBlock;

/// Where a node comes from: the Python source line of the op and the
/// dotted path of the module whose forward produced it ("layer1.0.conv1";
/// empty for the root module).
struct SourceLine {
  std::string file;
  int64_t line = 0;
  int64_t column = 0;
};

struct SourceInfo {
  std::string file;
  int64_t line = 0;
  int64_t column = 0;
  std::string modulePath;
  /// The calls that inlining replaced, outermost first: where the model's
  /// forward called `self.layer1`, where that called `self.conv1`, ...
  std::vector<SourceLine> callers;
};

struct GraphNode {
  std::string kind; // "aten::conv2d", "prim::ListConstruct", ...
  std::vector<int64_t> inputs;
  std::vector<int64_t> outputs;
  std::vector<GraphBlock> blocks; // prim::If / prim::Loop bodies
  SourceInfo source;
};

struct GraphBlock {
  std::vector<int64_t> inputs;
  std::vector<GraphNode> nodes;
  std::vector<int64_t> outputs;
};

struct TorchGraph {
  /// The module's `training` flag as saved: a module traced in training mode
  /// keeps that mode's graph (batch norm updating its statistics) even
  /// after eval(), which explains ops dq-import cannot translate.
  bool savedInTrainingMode = false;
  std::vector<GraphValue> values;
  /// The graph's inputs without the module itself (`self`).
  GraphBlock body;
};

/// Loads a TorchScript module (torch.jit.save of a traced or scripted
/// module), freezes it in eval mode, inlines `forward` and simplifies it.
/// On failure returns false and sets `error` to a message that says what the
/// file is and why it cannot be read; never throws.
bool readTorchScript(const std::string &path, TorchGraph &graph,
                     std::string &error);

} // namespace dq::import

#endif // DQ_IMPORT_TORCHGRAPH_H
