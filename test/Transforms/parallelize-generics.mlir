// RUN: dq-opt %s --pass-pipeline="builtin.module(func.func(dq-parallelize-generics{min-iterations=1024}))" | FileCheck %s
// RUN: not dq-opt %s --dq-parallelize-generics="min-iterations=-5" 2>&1 | FileCheck %s --check-prefix=OPTION
// OPTION: error: dq-parallelize-generics: option min-iterations must be in [1, 9223372036854775807], got -5

// A weight gradient after dq-interchange-generics (output loops first, the
// pixel reductions inside, the channel loop innermost). Its register tile
// steps the output channel by 4 (16 lanes per row, 256-bit vectors), so the
// output channel is distributed in chunks of 4: every thread keeps its
// elements' sums whole and in order.
// CHECK-LABEL: func.func @weight_grad
// CHECK: scf.forall (%[[O:.*]]) = (0) to (16) step (4) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<16x3x3x16xf32>)
// CHECK:   %[[DY:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, %[[O]]] [8, 6, 6, 4] [1, 1, 1, 1]
// CHECK:   %[[SLICE:.*]] = tensor.extract_slice %[[OUT]][%[[O]], 0, 0, 0] [4, 3, 3, 16] [1, 1, 1, 1]
// CHECK:   %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]
// CHECK-SAME: outs(%[[SLICE]] : tensor<4x3x3x16xf32>)
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %[[R]] into %[[OUT]][%[[O]], 0, 0, 0] [4, 3, 3, 16]
func.func @weight_grad(%dy: tensor<8x6x6x16xf32>, %x: tensor<8x8x8x16xf32>, %init: tensor<16x3x3x16xf32>) -> tensor<16x3x3x16xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(o, kh, kw, n, oh, ow, c) -> (n, oh, ow, o)>,
                       affine_map<(o, kh, kw, n, oh, ow, c) -> (n, oh + kh, ow + kw, c)>,
                       affine_map<(o, kh, kw, n, oh, ow, c) -> (o, kh, kw, c)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%dy, %x : tensor<8x6x6x16xf32>, tensor<8x8x8x16xf32>) outs(%init : tensor<16x3x3x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x3x3x16xf32>
  return %r : tensor<16x3x3x16xf32>
}

// Four output channels are one register tile, a single chunk: the next
// parallel loop (the filter row) is distributed instead, by 1.
// CHECK-LABEL: func.func @one_tile
// CHECK: scf.forall (%{{.*}}) in (3)
// CHECK:   outs(%{{.*}} : tensor<4x1x3x16xf32>)
func.func @one_tile(%dy: tensor<8x6x6x4xf32>, %x: tensor<8x8x8x16xf32>, %init: tensor<4x3x3x16xf32>) -> tensor<4x3x3x16xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(o, kh, kw, n, oh, ow, c) -> (n, oh, ow, o)>,
                       affine_map<(o, kh, kw, n, oh, ow, c) -> (n, oh + kh, ow + kw, c)>,
                       affine_map<(o, kh, kw, n, oh, ow, c) -> (o, kh, kw, c)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%dy, %x : tensor<8x6x6x4xf32>, tensor<8x8x8x16xf32>) outs(%init : tensor<4x3x3x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x3x3x16xf32>
  return %r : tensor<4x3x3x16xf32>
}

// Elementwise over NHWC: the batch loop is distributed.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.forall (%{{.*}}) in (16)
// CHECK:   linalg.generic {{.*}} ins(%{{.*}} : tensor<1x8x8x4xf32>)
func.func @elementwise(%x: tensor<16x8x8x4xf32>, %init: tensor<16x8x8x4xf32>) -> tensor<16x8x8x4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, h, w, c) -> (n, h, w, c)>, affine_map<(n, h, w, c) -> (n, h, w, c)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<16x8x8x4xf32>) outs(%init : tensor<16x8x8x4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %m = arith.maximumf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<16x8x8x4xf32>
  return %r : tensor<16x8x8x4xf32>
}

// A unit batch: the next parallel loop (rows) is distributed; never the
// innermost loop, which carries the vector lanes.
// CHECK-LABEL: func.func @unit_batch
// CHECK: scf.forall (%{{.*}}) in (32)
// CHECK:   tensor<1x1x64xf32>
func.func @unit_batch(%x: tensor<1x32x64xf32>, %init: tensor<1x32x64xf32>) -> tensor<1x32x64xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, h, c) -> (n, h, c)>, affine_map<(n, h, c) -> (n, h, c)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x32x64xf32>) outs(%init : tensor<1x32x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %m = arith.negf %a : f32
    linalg.yield %m : f32
  } -> tensor<1x32x64xf32>
  return %r : tensor<1x32x64xf32>
}

// Too small to pay for a fork and join, and a full reduction with nothing
// parallel but its innermost loop: both stay serial.
// CHECK-LABEL: func.func @small
// CHECK-NOT: scf.forall
// CHECK: linalg.generic
// CHECK-LABEL: func.func @column_sums
// CHECK-NOT: scf.forall
// CHECK: linalg.generic
func.func @small(%x: tensor<4x8xf32>, %init: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  } -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
func.func @column_sums(%x: tensor<4096x8xf32>, %init: tensor<8xf32>) -> tensor<8xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>],
      iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<4096x8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// A filter flip (the input gradient of a convolution): tiling would get the
// untiled slice extents wrong for a decreasing access, so it stays serial.
// CHECK-LABEL: func.func @flip
// CHECK-NOT: scf.forall
// CHECK: linalg.generic
func.func @flip(%w: tensor<64x3x3x64xf32>, %init: tensor<64x3x3x64xf32>) -> tensor<64x3x3x64xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(o, h, w, c) -> (o, 2 - h, 2 - w, c)>, affine_map<(o, h, w, c) -> (o, h, w, c)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%w : tensor<64x3x3x64xf32>) outs(%init : tensor<64x3x3x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    linalg.yield %a : f32
  } -> tensor<64x3x3x64xf32>
  return %r : tensor<64x3x3x64xf32>
}

// A convolution whose output starts as a fill (a generic, after
// generalization) that only it uses: the fill moves into the distributed
// loop, onto each slice, next to the op (dq-vectorize-generics then starts
// the accumulators from its value); the fill itself is not distributed.
// CHECK-LABEL: func.func @filled_conv
// CHECK-NOT: linalg.generic
// CHECK: scf.forall
// CHECK:   linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x28x28x16xf32>)
// CHECK:   linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @filled_conv(%x: tensor<2x30x30x16xf32>, %w: tensor<3x3x16x16xf32>) -> tensor<2x28x28x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x28x28x16xf32>
  %init = linalg.generic {indexing_maps = [affine_map<(n, h, w, c) -> (n, h, w, c)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%e : tensor<2x28x28x16xf32>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  } -> tensor<2x28x28x16xf32>
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh + kh, ow + kw, ci)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (kh, kw, ci, co)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh, ow, co)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : tensor<2x30x30x16xf32>, tensor<3x3x16x16xf32>) outs(%init : tensor<2x28x28x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x28x28x16xf32>
  return %r : tensor<2x28x28x16xf32>
}

// The same with a bias broadcast as the start: it moves onto each slice,
// still a broadcast of the whole bias along the contiguous dimension.
// CHECK-LABEL: func.func @bias_conv
// CHECK-NOT: linalg.generic
// CHECK: scf.forall
// CHECK:   linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg2 : tensor<16xf32>) outs(%{{.*}} : tensor<1x28x28x16xf32>)
// CHECK:   linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @bias_conv(%x: tensor<2x30x30x16xf32>, %w: tensor<3x3x16x16xf32>, %bias: tensor<16xf32>) -> tensor<2x28x28x16xf32> {
  %e = tensor.empty() : tensor<2x28x28x16xf32>
  %init = linalg.generic {indexing_maps = [affine_map<(n, h, w, c) -> (c)>, affine_map<(n, h, w, c) -> (n, h, w, c)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%bias : tensor<16xf32>) outs(%e : tensor<2x28x28x16xf32>) {
  ^bb0(%b: f32, %out: f32):
    linalg.yield %b : f32
  } -> tensor<2x28x28x16xf32>
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh + kh, ow + kw, ci)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (kh, kw, ci, co)>,
                       affine_map<(n, oh, ow, kh, kw, ci, co) -> (n, oh, ow, co)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : tensor<2x30x30x16xf32>, tensor<3x3x16x16xf32>) outs(%init : tensor<2x28x28x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x28x28x16xf32>
  return %r : tensor<2x28x28x16xf32>
}
