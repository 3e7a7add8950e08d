//===- TensorMath.h - tensor helpers for gradient rules ---------*- C++ -*-===//
//
// Small builders over linalg on tensors that the gradient rules and the
// training-graph builder share: broadcasting elementwise maps, reductions to
// a (keep-dims) shape, zeros, reshapes, transposes and matmuls.
//
//===----------------------------------------------------------------------===//

#ifndef DQ_INTERFACES_TENSORMATH_H
#define DQ_INTERFACES_TENSORMATH_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::dq::tensormath {

using ScalarBody =
    function_ref<Value(OpBuilder &, Location, ValueRange /*elements*/)>;

/// A tensor of `type` filled with `value`.
Value splat(OpBuilder &b, Location loc, RankedTensorType type, double value);
Value zerosLike(OpBuilder &b, Location loc, Value like);

/// Elementwise map over `inputs` into a tensor of `resultType`. Inputs have
/// the result's rank; a dimension of size 1 broadcasts. 0-d inputs
/// broadcast everywhere.
Value map(OpBuilder &b, Location loc, ValueRange inputs,
          RankedTensorType resultType, ScalarBody body);

/// Common elementwise maps (same broadcasting rules; result shape = first
/// operand's shape unless given).
Value add(OpBuilder &b, Location loc, Value x, Value y);
Value sub(OpBuilder &b, Location loc, Value x, Value y);
Value mul(OpBuilder &b, Location loc, Value x, Value y);
Value scale(OpBuilder &b, Location loc, Value x, double factor);

/// Sums `x` down to `shape` (same rank, dims of size 1 are summed over), or
/// to a 0-d tensor when `shape` is empty.
Value sumTo(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> shape);

/// Sums over every dimension but `axis`: a 1-d tensor of dim(axis).
Value sumPerChannel(OpBuilder &b, Location loc, Value x, int64_t axis);

/// Reshape (row-major, same element count).
Value reshape(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> shape);

/// Permutes dimensions: result dim i is input dim perm[i].
Value transpose(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> perm);

/// Batched matmul [B,M,K] x [B,K,N] -> [B,M,N].
Value batchMatmul(OpBuilder &b, Location loc, Value x, Value y);

/// Zero padding: `low[d]` / `high[d]` zeros before / after dimension d.
Value padZeros(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> low,
               ArrayRef<int64_t> high);

/// Inserts `stride[d] - 1` zeros between neighbouring elements along every
/// dimension d (the adjoint of a strided read).
Value dilate(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> stride);

/// The static slice [offsets, offsets + sizes) of `x`.
Value slice(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> offsets,
            ArrayRef<int64_t> sizes);

/// The static slice of `x` at `offsets` with `sizes`, taking every
/// `strides[d]`-th element along dimension d.
Value stridedSlice(OpBuilder &b, Location loc, Value x,
                   ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes,
                   ArrayRef<int64_t> strides);

/// `x` written into `into` at `offsets`, its elements `strides[d]` apart
/// along dimension d.
Value insertStrided(OpBuilder &b, Location loc, Value x, Value into,
                    ArrayRef<int64_t> offsets, ArrayRef<int64_t> strides);

/// `x` written into a zero tensor of `shape` at `offsets` (the adjoint of
/// slice).
Value insertIntoZeros(OpBuilder &b, Location loc, Value x,
                      ArrayRef<int64_t> shape, ArrayRef<int64_t> offsets);

/// `v` ([C]) reshaped to broadcast along `axis` of a rank-`rank` tensor.
Value alongAxis(OpBuilder &b, Location loc, Value v, int64_t axis,
                int64_t rank);

/// Row-wise maximum of [N x C] values as [N x 1] f32, and the column of the
/// first maximum as [N x 1] i32.
std::pair<Value, Value> rowMax(OpBuilder &b, Location loc, Value matrix);

/// Static shape of a ranked tensor value.
ArrayRef<int64_t> shapeOf(Value v);

} // namespace mlir::dq::tensormath

#endif // DQ_INTERFACES_TENSORMATH_H
