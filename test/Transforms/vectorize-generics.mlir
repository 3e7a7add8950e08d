// RUN: dq-opt %s --dq-vectorize-generics | FileCheck %s

// A weight-gradient-like reduction (already in the interchanged order):
// tiled to 1 except the innermost output channel loop, which becomes vector
// lanes with the accumulator as a vector.
// CHECK-LABEL: func.func @weight_grad
// CHECK: scf.for
// CHECK: vector.transfer_read {{.*}} vector<4xf32>
// CHECK: vector.transfer_write {{.*}} vector<4xf32>
// CHECK-NOT: dq_vec
func.func @weight_grad(%dy: tensor<8x6x6x4xf32>, %x: tensor<8x8x8x3xf32>, %init: tensor<3x3x3x4xf32>) -> tensor<3x3x3x4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, c, o) -> (n, oh, ow, o)>,
                       affine_map<(n, oh, ow, kh, kw, c, o) -> (n, oh + kh, ow + kw, c)>,
                       affine_map<(n, oh, ow, kh, kw, c, o) -> (kh, kw, c, o)>],
      iterator_types = ["reduction", "reduction", "reduction", "parallel", "parallel", "parallel", "parallel"]}
      ins(%dy, %x : tensor<8x6x6x4xf32>, tensor<8x8x8x3xf32>) outs(%init : tensor<3x3x3x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x3x3x4xf32>
  return %r : tensor<3x3x3x4xf32>
}

// A keep-dims reduction whose output ends in a broadcast dimension is left
// scalar (its stores would not be contiguous).
// CHECK-LABEL: func.func @keep_dims
// CHECK: linalg.generic
// CHECK-NOT: vector.
func.func @keep_dims(%x: tensor<2x3x4xf32>, %init: tensor<1x3x1xf32>) -> tensor<1x3x1xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>, affine_map<(d0, d1, d2) -> (0, d2, 0)>],
      iterator_types = ["reduction", "reduction", "parallel"]}
      ins(%x : tensor<2x3x4xf32>) outs(%init : tensor<1x3x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<1x3x1xf32>
  return %r : tensor<1x3x1xf32>
}
