//===- TorchGraphToMLIR.h - TorchGraph -> dq model IR -----------*- C++ -*-===//
//
// Translates the graph the TorchScript reader produced into dq's model IR:
// `func.func @model(%images: tensor<NxHxWxCxf32>) -> tensor<...>` with TOSA
// ops on NHWC tensors, `dq.batch_norm`, parameters as `tosa.const`, and each
// op located at `loc("<module path>"("<file>":line:col))`.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_IMPORT_TORCHGRAPHTOMLIR_H
#define DQ_IMPORT_TORCHGRAPHTOMLIR_H

#include "dq/Import/TorchGraph.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace dq::import {

struct ImportOptions {
  /// The input's shape in PyTorch's order (NCHW); the function argument is
  /// its NHWC transpose.
  std::vector<int64_t> inputShape;
  std::string functionName = "model";
  /// Constants with more elements become `dense_resource` blobs (kept out
  /// of the op text); a negative value keeps every constant inline.
  int64_t resourceThreshold = 256;
};

/// Builds the module, or reports errors through the context's diagnostic
/// handler and returns null. Every op kind the translation does not know is
/// listed in one error, with where each occurs.
mlir::OwningOpRef<mlir::ModuleOp> importTorchGraph(const TorchGraph &graph,
                                                   const ImportOptions &options,
                                                   mlir::MLIRContext &context);

} // namespace dq::import

#endif // DQ_IMPORT_TORCHGRAPHTOMLIR_H
