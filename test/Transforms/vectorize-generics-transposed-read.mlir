// RUN: dq-opt %s --dq-vectorize-generics="register-tile=false" | FileCheck %s

// A matmul with a transposed operand, as the input gradient of a linalg
// matmul was before its rule transposed the weight: the vector loop (d3)
// reads %y along its middle dim and %y is broadcast over d1. Its transfer
// read's permutation map sent the script's transfer-permutation and
// broadcast-lowering patterns into an endless loop (dq-lower-to-llvm ran out
// of memory); the op stays scalar.
#a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#b = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func.func @transposed_broadcast
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @transposed_broadcast(%x: tensor<1x2x10xf32>, %y: tensor<1x4x10xf32>, %z: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %r = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%x, %y : tensor<1x2x10xf32>, tensor<1x4x10xf32>) outs(%z : tensor<1x2x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %p = arith.mulf %in, %in_1 : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x4xf32>
  return %r : tensor<1x2x4xf32>
}

// The same product with the weight transposed first (what the rule emits)
// reads %y along its last dim and is vectorized.
#bt = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-LABEL: func.func @contiguous
// CHECK: vector.transfer_read
func.func @contiguous(%x: tensor<1x2x10xf32>, %y: tensor<1x10x4xf32>, %z: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %r = linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%x, %y : tensor<1x2x10xf32>, tensor<1x10x4xf32>) outs(%z : tensor<1x2x4xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %p = arith.mulf %in, %in_1 : f32
    %s = arith.addf %out, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x2x4xf32>
  return %r : tensor<1x2x4xf32>
}
