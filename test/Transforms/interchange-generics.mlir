// RUN: dq-opt %s --pass-pipeline="builtin.module(func.func(dq-interchange-generics))" | FileCheck %s

// A weight gradient with a long reduction (64 x 6 x 6 > 1024 iterations):
// the batch loop goes outermost, then the output loops, then the pixel
// reductions (in their order), the output's last dim innermost.
// CHECK-DAG: #[[$DY:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d5, d1)>
// CHECK-DAG: #[[$X:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2 + d4, d3 + d5, d6)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d3, d6)>
// CHECK-LABEL: func.func @weight_grad
// CHECK: linalg.generic {indexing_maps = [#[[$DY]], #[[$X]], #[[$OUT]]], iterator_types = ["reduction", "parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]}
func.func @weight_grad(%dy: tensor<64x6x6x4xf32>, %x: tensor<64x8x8x3xf32>, %init: tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(o, kh, kw, c, n, oh, ow) -> (n, oh, ow, o)>,
                       affine_map<(o, kh, kw, c, n, oh, ow) -> (n, oh + kh, ow + kw, c)>,
                       affine_map<(o, kh, kw, c, n, oh, ow) -> (o, kh, kw, c)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%dy, %x : tensor<64x6x6x4xf32>, tensor<64x8x8x3xf32>) outs(%init : tensor<4x3x3x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x3x3x3xf32>
  return %r : tensor<4x3x3x3xf32>
}

// A short reduction (8 x 6 x 6) stays inside the output loops.
// CHECK-LABEL: func.func @short_weight_grad
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]
func.func @short_weight_grad(%dy: tensor<8x6x6x4xf32>, %x: tensor<8x8x8x3xf32>, %init: tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(o, kh, kw, c, n, oh, ow) -> (n, oh, ow, o)>,
                       affine_map<(o, kh, kw, c, n, oh, ow) -> (n, oh + kh, ow + kw, c)>,
                       affine_map<(o, kh, kw, c, n, oh, ow) -> (o, kh, kw, c)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%dy, %x : tensor<8x6x6x4xf32>, tensor<8x8x8x3xf32>) outs(%init : tensor<4x3x3x3xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x3x3x3xf32>
  return %r : tensor<4x3x3x3xf32>
}

// A matmul-like reduction with a larger output: only the contiguous output
// dim moves innermost.
// CHECK-LABEL: func.func @row_sums
// CHECK: iterator_types = ["parallel", "reduction", "parallel"]
func.func @row_sums(%x: tensor<64x3x32xf32>, %init: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, j, k) -> (i, k, j)>, affine_map<(i, j, k) -> (i, j)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<64x3x32xf32>) outs(%init : tensor<64x32xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}

// Elementwise ops are left alone.
// CHECK-LABEL: func.func @elementwise
// CHECK: iterator_types = ["parallel", "parallel"]
func.func @elementwise(%x: tensor<4x8xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
