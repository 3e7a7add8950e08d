// RUN: dq-opt %s --dq-vectorize-generics=vector-bits=256 | FileCheck %s

// An innermost loop longer than 8 registers' lanes (64 f32 at 256 bits) is
// tiled by the largest multiple of the lanes that divides it, at most 64,
// and each tile is vectorized: a loop over vector<64xf32> tiles instead of
// one vector<1280xf32> (MobileNetV2's 1280 channels: the minimum over each
// channel's levels, read down a column).
// CHECK-LABEL: func.func @min_over_levels
// CHECK-DAG: %[[C1280:.*]] = arith.constant 1280 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: scf.for {{.*}} to %[[C1280]] step %[[C64]]
// CHECK: vector<64xf32>
// CHECK-NOT: vector<1280
// CHECK: return
func.func @min_over_levels(%levels: tensor<1280x4xf32>, %init: tensor<1280xf32>) -> tensor<1280xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(l, c) -> (c, l)>, affine_map<(l, c) -> (c)>],
      iterator_types = ["reduction", "parallel"]}
      ins(%levels : tensor<1280x4xf32>) outs(%init : tensor<1280xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.minimumf %acc, %a : f32
    linalg.yield %m : f32
  } -> tensor<1280xf32>
  return %r : tensor<1280xf32>
}

// 96 lanes: the largest multiple of 8 that divides 96 and is at most 64.
// CHECK-LABEL: func.func @sum_96
// CHECK: scf.for {{.*}} step %c48
// CHECK: vector<48xf32>
// CHECK-NOT: vector<96
// CHECK: return
func.func @sum_96(%x: tensor<32x96xf32>, %init: tensor<96xf32>) -> tensor<96xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> (c)>],
      iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<32x96xf32>) outs(%init : tensor<96xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<96xf32>
  return %r : tensor<96xf32>
}

// No whole tile fits (100 has no divisor that is a multiple of 8): the loop
// stays one vector, as do loops of at most 64 lanes.
// CHECK-LABEL: func.func @sum_100
// CHECK: vector<100xf32>
// CHECK-LABEL: func.func @sum_64
// CHECK: vector<64xf32>
func.func @sum_100(%x: tensor<32x100xf32>, %init: tensor<100xf32>) -> tensor<100xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> (c)>],
      iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<32x100xf32>) outs(%init : tensor<100xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<100xf32>
  return %r : tensor<100xf32>
}
func.func @sum_64(%x: tensor<32x64xf32>, %init: tensor<64xf32>) -> tensor<64xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> (c)>],
      iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<32x64xf32>) outs(%init : tensor<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  return %r : tensor<64xf32>
}
