//===- LibraryConvs.h - convolutions that a library runs --------*- C++ -*-===//
//
// The two convolution contractions dq-mark-library-convs recognizes and
// dq-call-library-convs calls dq/runtime/ConvLibrary.h for.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_TRANSFORMS_LIBRARYCONVS_H
#define DQ_TRANSFORMS_LIBRARYCONVS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>
#include <string>

namespace mlir::dq {

struct LibraryConv {
  enum class Kind { Forward, WeightGrad };
  Kind kind;
  /// Which input is the (padded) activation [N, H, W, CI].
  unsigned input;
  SmallVector<int64_t, 2> strides, dilations;
  /// For ky, kx, ci, co in turn: the dim of the weight operand (forward:
  /// the other input; weight gradient: the output) that it indexes.
  SmallVector<unsigned, 4> weightDims;
};

/// The convolution form of `op` (tensors or buffers), if it has one.
std::optional<LibraryConv> matchLibraryConv(linalg::GenericOp op);

/// The `library_call` of a form: "dq_conv2d_accumulate_f32" or
/// "dq_conv2d_weight_grad_accumulate_f32".
std::string libraryCallOf(const LibraryConv &conv);

/// The model-facing symbol compiled code calls ("dq_model_" + the call
/// name without "dq_"): it reports a library failure and aborts.
std::string modelSymbolOf(const LibraryConv &conv);

bool isLibraryConvCall(llvm::StringRef name);

} // namespace mlir::dq

#endif
