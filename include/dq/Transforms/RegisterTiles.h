//===- RegisterTiles.h - register tiles of sum-of-products generics -*- C++ -*-===//
//
// The CPU code of a convolution, its gradients or a matmul is a
// linalg.generic summing products, vectorized along its innermost (output-
// contiguous) loop. A register tile also steps a second parallel loop by R,
// so that R accumulator vectors stay in registers and share each loaded
// vector. dq-parallelize-generics and dq-vectorize-generics both ask this
// one function, so that a distributed loop is chunked to the tile.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_TRANSFORMS_REGISTERTILES_H
#define DQ_TRANSFORMS_REGISTERTILES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace mlir::dq {

/// The vector registers of the target CPU.
struct VectorTarget {
  int64_t bits = 256;
  int64_t registers = 16;
};

struct RegisterTile {
  /// The loop stepped by `rows` (a parallel loop, not the innermost one).
  unsigned loop;
  int64_t rows;
  /// The elements of the vector (innermost) loop one tile covers: the whole
  /// loop, or a divisor of it that is a multiple of the vector width when
  /// a whole row of accumulators would not leave registers for rows (64
  /// channels take eight 256-bit registers a row).
  int64_t columns;
};

/// The coefficient of `dim` in `expr` if `expr` is linear in the loop dims
/// (sums of dims scaled by constants, plus constants); std::nullopt if not.
std::optional<int64_t> linearCoefficient(AffineExpr expr, unsigned dim);

/// The register tile of `op`, or std::nullopt if it gets none: `op` must
/// reduce into one output along its loops in order, its innermost loop
/// parallel and walked by each operand only as its last, unit-stride index
/// (or not at all), its body elementwise arithmetic. The order of every
/// sum stays that of the loops. Of the candidate tiles the one with the
/// most multiply-adds per loaded or broadcast operand wins.
std::optional<RegisterTile> chooseRegisterTile(linalg::GenericOp op,
                                               const VectorTarget &target);

/// A tensor initialized to one value: a linalg.fill, or its generic form
/// (all loops parallel, the body yields a value from outside it); or to a
/// vector along its last dimension, the same for every other index (a
/// bias broadcast: a generic whose one input, of rank 1, is read at the
/// last loop index and yielded as it is).
struct Fill {
  Operation *op;
  Value value;       // the scalar every element takes, or the vector
  Value destination; // the tensor it fills
  bool alongLastDim = false; // `value` is the rank-1 tensor broadcast
};
std::optional<Fill> matchFill(Value tensor);

/// `fill` again, on `destination` (a slice of its destination that keeps
/// the last dimension whole); returns the filled tensor.
Value recreateFill(OpBuilder &b, Location loc, const Fill &fill,
                   Value destination);

} // namespace mlir::dq

#endif // DQ_TRANSFORMS_REGISTERTILES_H
